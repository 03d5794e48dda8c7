//! Machine identities: OAuth clients and the token signing keys (ID-10, TK-2).
//! The OAuth endpoints themselves are for OAuth clients (`oauth2` and the
//! like), not for this client.

use gatehouse_types::{
    ClientListResponse, ClientResponse, ClientSecretResponse, CreateClientRequest, KeyListResponse,
    KeyResponse, UpdateClientRequest,
};
use reqwest::Method;

use crate::{Client, ClientError};

impl Client {
    /// `GET /v1/clients`: every client, oldest first, without secrets.
    pub async fn list_clients(&self) -> Result<Vec<ClientResponse>, ClientError> {
        let list: ClientListResponse = self.call(Method::GET, "/v1/clients", None::<&()>).await?;
        Ok(list.items)
    }

    /// `POST /v1/clients`: the secret of a confidential client is in this
    /// answer only.
    pub async fn create_client(
        &self,
        request: &CreateClientRequest,
    ) -> Result<ClientSecretResponse, ClientError> {
        self.call(Method::POST, "/v1/clients", Some(request)).await
    }

    /// `GET /v1/clients/{id}`.
    pub async fn client(&self, id: &str) -> Result<ClientResponse, ClientError> {
        self.call(
            Method::GET,
            &format!("/v1/clients/{}", segment(id)),
            None::<&()>,
        )
        .await
    }

    /// `PATCH /v1/clients/{id}`.
    pub async fn update_client(
        &self,
        id: &str,
        request: &UpdateClientRequest,
    ) -> Result<ClientResponse, ClientError> {
        self.call(
            Method::PATCH,
            &format!("/v1/clients/{}", segment(id)),
            Some(request),
        )
        .await
    }

    /// `DELETE /v1/clients/{id}`: disables it and revokes every token it holds.
    pub async fn disable_client(&self, id: &str) -> Result<ClientResponse, ClientError> {
        self.call(
            Method::DELETE,
            &format!("/v1/clients/{}", segment(id)),
            None::<&()>,
        )
        .await
    }

    /// `POST /v1/clients/{id}/secret`: a new secret, shown once.
    pub async fn rotate_client_secret(
        &self,
        id: &str,
    ) -> Result<ClientSecretResponse, ClientError> {
        self.call(
            Method::POST,
            &format!("/v1/clients/{}/secret", segment(id)),
            None::<&()>,
        )
        .await
    }

    /// `GET /v1/keys`: every signing key's public half and state.
    pub async fn list_keys(&self) -> Result<Vec<KeyResponse>, ClientError> {
        let list: KeyListResponse = self.call(Method::GET, "/v1/keys", None::<&()>).await?;
        Ok(list.items)
    }

    /// `POST /v1/keys/rotate`.
    pub async fn rotate_keys(&self) -> Result<Vec<KeyResponse>, ClientError> {
        let list: KeyListResponse = self
            .call(Method::POST, "/v1/keys/rotate", None::<&()>)
            .await?;
        Ok(list.items)
    }
}

/// An id as one path segment: anything but the unreserved characters is
/// percent-encoded, so an id cannot add a segment or a query.
pub(crate) fn segment(id: &str) -> String {
    id.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_stay_one_path_segment() {
        assert_eq!(super::segment("0190a5f4-0000-7000"), "0190a5f4-0000-7000");
        assert_eq!(super::segment("../keys?x=1#y"), "..%2Fkeys%3Fx%3D1%23y");
    }
}
