//! `[api]`: the InvGuard backend API and how to authenticate to it.

use std::time::Duration;

use crate::Secret;

/// The backend API.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Base URL (`API_URL`, default `http://backend:5000/api`).
    pub url: String,
    /// Static bearer token (`API_TOKEN` or the contents of `API_TOKEN_FILE`).
    pub token: Option<Secret>,
    /// Login credentials, when the backend issues tokens itself.
    pub login: Option<LoginConfig>,
    /// TCP connect timeout.
    pub connect_timeout: Duration,
    /// Timeout for the whole response.
    pub read_timeout: Duration,
    /// Maximum response body size in bytes (default 16 MiB).
    pub max_body_bytes: u64,
    /// JSON field of the `/health` body that must equal `health_expect_value`, if set.
    pub health_expect_field: Option<String>,
    /// Expected value of `health_expect_field`.
    pub health_expect_value: Option<String>,
}

/// Login to the backend with a username and password.
#[derive(Debug, Clone)]
pub struct LoginConfig {
    /// Login path relative to the API URL (default `/auth/login`).
    pub endpoint: String,
    /// Username.
    pub username: String,
    /// Password.
    pub password: Secret,
    /// JSON field of the login response that holds the token (default `access_token`).
    pub token_field: String,
}
