//! Signing in as a person (CO-1): email and password with a second factor
//! through the identity API, or the system browser with PKCE. The tokens
//! never reach the window; it gets the session, or what to do next.

use gatehouse_types::{ApiError, ChallengeMethod};
use tauri::State;

use crate::person::{self, SignInOutcome};
use crate::state::ConsoleState;
use crate::types::Verification;

#[tauri::command]
pub async fn sign_in_person(
    state: State<'_, ConsoleState>,
    url: String,
    email: String,
    password: String,
    verification: Verification,
) -> Result<SignInOutcome, ApiError> {
    person::sign_in_password(&state, &url, &email, &password, verification).await
}

/// The pending sign-in's second factor; `code: null` with `sms` sends it again.
#[tauri::command]
pub async fn sign_in_second_factor(
    state: State<'_, ConsoleState>,
    method: ChallengeMethod,
    code: Option<String>,
) -> Result<SignInOutcome, ApiError> {
    person::sign_in_second_factor(&state, method, code).await
}

/// Opens the server's sign-in page in the system browser and waits for it.
#[tauri::command]
pub async fn sign_in_browser(
    state: State<'_, ConsoleState>,
    url: String,
    verification: Verification,
) -> Result<SignInOutcome, ApiError> {
    crate::browser::sign_in(&state, &url, verification).await
}

/// Stops waiting for the browser.
#[tauri::command]
pub async fn cancel_browser_sign_in(state: State<'_, ConsoleState>) -> Result<(), ApiError> {
    state.browser_cancel.notify_waiters();
    Ok(())
}
