//! `GET`/`POST /oauth2/userinfo` (OpenID Connect Core §5.3): the person
//! behind the access token, each claim only when its scope was granted. A
//! private route: the pipeline verifies the token and asks the policies
//! (`me.userinfo`, a kind of `me.read`); a client's token needs `openid`.

use axum::extract::State;
use axum::Json;
use gatehouse_tokens::oauth::Scopes;
use gatehouse_types::UserInfoResponse;

use crate::app::AppState;
use crate::error::ApiFailure;
use crate::factors::me;
use crate::pipeline::Caller;

pub async fn userinfo(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<UserInfoResponse>, ApiFailure> {
    let user = me(&state, &caller).await?;
    // A first-party token (signed in through the API) sees everything the
    // person may see of themselves.
    let scopes = caller
        .user_grant()
        .and_then(|g| g.scopes.clone())
        .map_or_else(
            || Scopes::from_names(["openid", "profile", "email", "phone"]),
            Scopes::from_names,
        );
    let person = super::code_grant::person_claims(&user, &scopes);
    Ok(Json(UserInfoResponse {
        sub: user.id,
        name: person.name,
        user_type: person.user_type,
        email: person.email,
        email_verified: person.email_verified,
        phone_number: person.phone_number,
        phone_number_verified: person.phone_number_verified,
    }))
}
