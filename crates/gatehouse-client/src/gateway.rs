//! The gateway (GW-7, GW-9): its inventory and WAF, the WAF's settings, the
//! flagged sources, and why a request was blocked.

use gatehouse_types::{
    BlockedWhyResponse, FlaggedSourcesResponse, GatewayResponse, UpdateWafRequest, WafStatus,
};
use reqwest::Method;

use crate::machines::segment;
use crate::{Client, ClientError};

impl Client {
    /// `GET /v1/gateway/routes`.
    pub async fn gateway(&self) -> Result<GatewayResponse, ClientError> {
        self.call(Method::GET, "/v1/gateway/routes", None::<&()>)
            .await
    }

    /// `PUT /v1/gateway/waf`.
    pub async fn update_waf(&self, request: &UpdateWafRequest) -> Result<WafStatus, ClientError> {
        self.call(Method::PUT, "/v1/gateway/waf", Some(request))
            .await
    }

    /// `GET /v1/gateway/sources`.
    pub async fn flagged_sources(&self) -> Result<FlaggedSourcesResponse, ClientError> {
        self.call(Method::GET, "/v1/gateway/sources", None::<&()>)
            .await
    }

    /// `DELETE /v1/gateway/sources?source=…`.
    pub async fn unflag_source(&self, source: &str) -> Result<FlaggedSourcesResponse, ClientError> {
        let builder = self
            .request(Method::DELETE, "/v1/gateway/sources")?
            .query(&[("source", source)]);
        self.send(builder).await
    }

    /// `GET /v1/blocked/{request_id}/why`.
    pub async fn why_blocked(&self, request_id: &str) -> Result<BlockedWhyResponse, ClientError> {
        self.call(
            Method::GET,
            &format!("/v1/blocked/{}/why", segment(request_id)),
            None::<&()>,
        )
        .await
    }
}
