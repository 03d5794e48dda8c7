//! People (ID-1 … ID-3, ID-9, ID-11): users with their sessions, pending
//! registrations, user types and registration flows, and the development
//! outbox, as the console's Users pages use them.

use gatehouse_types::{
    OutboxResponse, RegistrationFlowDefinition, RegistrationFlowListResponse, RejectUserRequest,
    SessionListResponse, SessionResponse, UpdateUserRequest, UserPage, UserResponse, UserStatus,
    UserTypeListResponse,
};
use reqwest::Method;
use serde::Serialize;

use crate::machines::segment;
use crate::{Client, ClientError};

/// `GET /v1/users`'s filters: all optional, combined with AND.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UserFilters {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<UserStatus>,
    /// `name:value`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribute: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entitlement: Option<String>,
    /// A prefix of the email, phone number or display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    /// The previous page's `next_after`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

impl Client {
    /// `GET /v1/users`: one page in creation order.
    pub async fn list_users(&self, filters: &UserFilters) -> Result<UserPage, ClientError> {
        let builder = self.request(Method::GET, "/v1/users")?.query(filters);
        self.send(builder).await
    }

    /// `GET /v1/users/{id}`.
    pub async fn user(&self, id: &str) -> Result<UserResponse, ClientError> {
        self.call(Method::GET, &user_path(id, ""), None::<&()>)
            .await
    }

    /// `PATCH /v1/users/{id}`: with `expected_updated_at`, refused (409) when
    /// someone changed the user since.
    pub async fn update_user(
        &self,
        id: &str,
        request: &UpdateUserRequest,
    ) -> Result<UserResponse, ClientError> {
        self.call(Method::PATCH, &user_path(id, ""), Some(request))
            .await
    }

    /// `DELETE /v1/users/{id}`: disables (a soft delete).
    pub async fn disable_user(&self, id: &str) -> Result<UserResponse, ClientError> {
        self.call(Method::DELETE, &user_path(id, ""), None::<&()>)
            .await
    }

    /// `POST /v1/users/{id}/lock`.
    pub async fn lock_user(&self, id: &str) -> Result<UserResponse, ClientError> {
        self.call(Method::POST, &user_path(id, "/lock"), None::<&()>)
            .await
    }

    /// `DELETE /v1/users/{id}/lock`.
    pub async fn unlock_user(&self, id: &str) -> Result<UserResponse, ClientError> {
        self.call(Method::DELETE, &user_path(id, "/lock"), None::<&()>)
            .await
    }

    /// `POST /v1/users/{id}/approve`.
    pub async fn approve_user(&self, id: &str) -> Result<UserResponse, ClientError> {
        self.call(Method::POST, &user_path(id, "/approve"), None::<&()>)
            .await
    }

    /// `POST /v1/users/{id}/reject`.
    pub async fn reject_user(&self, id: &str, reason: &str) -> Result<UserResponse, ClientError> {
        let body = RejectUserRequest {
            reason: reason.to_owned(),
        };
        self.call(Method::POST, &user_path(id, "/reject"), Some(&body))
            .await
    }

    /// `GET /v1/users/{id}/factors`: what the user has enrolled.
    pub async fn user_factors(
        &self,
        id: &str,
    ) -> Result<gatehouse_types::FactorsResponse, ClientError> {
        self.call(Method::GET, &user_path(id, "/factors"), None::<&()>)
            .await
    }

    /// `GET /v1/users/{id}/sessions`: newest first, ended ones too.
    pub async fn user_sessions(&self, id: &str) -> Result<SessionListResponse, ClientError> {
        self.call(Method::GET, &user_path(id, "/sessions"), None::<&()>)
            .await
    }

    /// `DELETE /v1/users/{id}/sessions`: ends every session of the user;
    /// the sessions ended.
    pub async fn end_user_sessions(&self, id: &str) -> Result<SessionListResponse, ClientError> {
        self.call(Method::DELETE, &user_path(id, "/sessions"), None::<&()>)
            .await
    }

    /// `DELETE /v1/sessions/{id}`: the session as ended.
    pub async fn end_session(&self, id: &str) -> Result<SessionResponse, ClientError> {
        self.call(
            Method::DELETE,
            &format!("/v1/sessions/{}", segment(id)),
            None::<&()>,
        )
        .await
    }

    /// `GET /v1/user-types`.
    pub async fn list_user_types(&self) -> Result<UserTypeListResponse, ClientError> {
        self.call(Method::GET, "/v1/user-types", None::<&()>).await
    }

    /// `GET /v1/registration-flows`.
    pub async fn list_registration_flows(
        &self,
    ) -> Result<RegistrationFlowListResponse, ClientError> {
        self.call(Method::GET, "/v1/registration-flows", None::<&()>)
            .await
    }

    /// `PUT /v1/registration-flows/{user_type}`.
    pub async fn put_registration_flow(
        &self,
        flow: &RegistrationFlowDefinition,
    ) -> Result<RegistrationFlowDefinition, ClientError> {
        let path = format!("/v1/registration-flows/{}", segment(&flow.user_type));
        self.call(Method::PUT, &path, Some(flow)).await
    }

    /// `GET /v1/outbox`: what the development outbox kept.
    pub async fn outbox(&self) -> Result<OutboxResponse, ClientError> {
        self.call(Method::GET, "/v1/outbox", None::<&()>).await
    }
}

fn user_path(id: &str, rest: &str) -> String {
    format!("/v1/users/{}{rest}", segment(id))
}
