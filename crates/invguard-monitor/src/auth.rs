//! Access to the backend API with authentication: a static bearer token or a login that
//! issues tokens, renewed before they expire and once more after a 401.

use std::fmt;

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use chrono::{DateTime, TimeDelta, Utc};
use invguard_config::{ApiConfig, LoginConfig, Secret};
use serde_json::{Value, json};

use crate::http::{HttpClient, HttpFailure, HttpLimits, HttpRequest, HttpResponse, join_url};

/// A token is renewed when it expires within this margin.
const RENEWAL_MARGIN: TimeDelta = TimeDelta::seconds(60);

/// base64url as used by JWTs, accepting the padding that some issuers add.
const JWT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Why an API request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ApiFailure {
    /// No complete response from the endpoint.
    Http { endpoint: String, failure: HttpFailure },
    /// Getting or using a token failed.
    Auth(String),
}

impl fmt::Display for ApiFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiFailure::Http { endpoint, failure } => write!(f, "GET {endpoint}: {failure}"),
            ApiFailure::Auth(reason) => write!(f, "authentication failed: {reason}"),
        }
    }
}

/// A bearer token and, when known, its expiry.
#[derive(Debug)]
struct Token {
    value: Secret,
    expires_at: Option<DateTime<Utc>>,
}

/// How the monitor authenticates.
#[derive(Debug)]
enum Credentials {
    None,
    Static(Secret),
    Login(LoginConfig),
}

/// The backend API: base URL, HTTP client and the current token.
#[derive(Debug)]
pub(crate) struct ApiClient {
    http: HttpClient,
    base_url: String,
    credentials: Credentials,
    token: Option<Token>,
    logins: u32,
}

impl ApiClient {
    pub fn new(api: &ApiConfig) -> ApiClient {
        let http = HttpClient::new(HttpLimits {
            connect_timeout: api.connect_timeout,
            read_timeout: api.read_timeout,
            max_body_bytes: api.max_body_bytes,
        });
        let credentials = match (&api.login, &api.token) {
            (Some(login), _) => Credentials::Login(login.clone()),
            (None, Some(token)) => Credentials::Static(token.clone()),
            (None, None) => Credentials::None,
        };
        ApiClient { http, base_url: api.url.clone(), credentials, token: None, logins: 0 }
    }

    pub fn url(&self, path: &str) -> String {
        join_url(&self.base_url, path)
    }

    /// Number of logins so far; a login happens at first use, before expiry and after a 401.
    pub fn logins(&self) -> u32 {
        self.logins
    }

    /// `GET path` without credentials.
    pub fn get_public(&self, path: &str) -> Result<HttpResponse, ApiFailure> {
        let url = self.url(path);
        self.http.send(&HttpRequest::get(&url)).map_err(|failure| http_failure(path, failure))
    }

    /// `GET path` with the bearer token; a 401 with login credentials triggers one re-login.
    pub fn get_authenticated(
        &mut self,
        path: &str,
        now: DateTime<Utc>,
    ) -> Result<HttpResponse, ApiFailure> {
        let response = self.get_with_token(path, now)?;
        if response.status != 401 {
            return Ok(response);
        }

        match self.credentials {
            Credentials::Login(_) => {
                tracing::debug!(endpoint = path, "token rejected with 401, logging in again");
                self.token = None;
                let retried = self.get_with_token(path, now)?;
                if retried.status == 401 {
                    return Err(ApiFailure::Auth(format!(
                        "GET {path} returned 401 with a freshly issued token"
                    )));
                }
                Ok(retried)
            }
            Credentials::Static(_) => Err(ApiFailure::Auth(format!(
                "GET {path} returned 401: the API token was rejected, check API_TOKEN or \
                 API_TOKEN_FILE"
            ))),
            Credentials::None => Err(ApiFailure::Auth(format!(
                "GET {path} returned 401 and no credentials are configured: set API_TOKEN, \
                 API_TOKEN_FILE or [api] login"
            ))),
        }
    }

    fn get_with_token(
        &mut self,
        path: &str,
        now: DateTime<Utc>,
    ) -> Result<HttpResponse, ApiFailure> {
        self.ensure_token(now)?;
        let url = self.url(path);
        let bearer = self.bearer();
        let request = HttpRequest::get(&url).bearer(bearer);
        self.http.send(&request).map_err(|failure| http_failure(path, failure))
    }

    fn bearer(&self) -> Option<&Secret> {
        match &self.credentials {
            Credentials::Static(token) => Some(token),
            Credentials::Login(_) => self.token.as_ref().map(|token| &token.value),
            Credentials::None => None,
        }
    }

    /// Logs in when there is no token or it expires within the renewal margin.
    fn ensure_token(&mut self, now: DateTime<Utc>) -> Result<(), ApiFailure> {
        let Credentials::Login(login) = &self.credentials else {
            return Ok(());
        };
        let fresh = self.token.as_ref().is_some_and(|token| match token.expires_at {
            Some(expires_at) => expires_at - now > RENEWAL_MARGIN,
            None => true,
        });
        if fresh {
            return Ok(());
        }

        if self.token.is_some() {
            tracing::debug!("token expires soon, renewing it");
        }
        let login = login.clone();
        self.token = Some(self.login(&login, now)?);
        Ok(())
    }

    fn login(&mut self, login: &LoginConfig, now: DateTime<Utc>) -> Result<Token, ApiFailure> {
        self.logins += 1;
        let url = self.url(&login.endpoint);
        let body = json!({"username": login.username, "password": login.password.expose()});
        let request = HttpRequest::post_json(&url, &body);
        let response = self.http.send(&request).map_err(|failure| {
            ApiFailure::Auth(format!("login request POST {}: {failure}", login.endpoint))
        })?;

        if matches!(response.status, 401 | 403) {
            return Err(ApiFailure::Auth(format!(
                "login as {:?} rejected with HTTP {}: check the username and password",
                login.username, response.status
            )));
        }
        if !response.is_success() {
            return Err(ApiFailure::Auth(format!(
                "login POST {} returned HTTP {}",
                login.endpoint, response.status
            )));
        }
        let token = parse_login_response(&response.body, &login.token_field, now)?;
        tracing::debug!(expires_at = ?token.expires_at, "logged in to the backend API");
        Ok(token)
    }
}

fn http_failure(path: &str, failure: HttpFailure) -> ApiFailure {
    ApiFailure::Http { endpoint: path.to_owned(), failure }
}

/// Reads the token (a dotted path such as `data.access_token` is allowed) and its expiry
/// from a login response.
fn parse_login_response(body: &[u8], field: &str, now: DateTime<Utc>) -> Result<Token, ApiFailure> {
    let document: Value = serde_json::from_slice(body)
        .map_err(|_| ApiFailure::Auth("login response is not JSON".to_owned()))?;
    let value = field.split('.').try_fold(&document, |value, key| value.get(key));
    let Some(Value::String(text)) = value else {
        return Err(ApiFailure::Auth(format!(
            "login response has no string field {field:?}: set [api] login token_field"
        )));
    };

    let value = Secret::new(text.clone());
    let expires_at = jwt_expiry(value.expose()).or_else(|| {
        let seconds = document.get("expires_in")?.as_f64()?;
        Some(now + TimeDelta::milliseconds((seconds * 1000.0) as i64))
    });
    Ok(Token { value, expires_at })
}

/// Reads the `exp` claim of a JWT without verifying its signature: the monitor only needs to
/// know when to renew, and the backend still verifies every request.
pub(crate) fn jwt_expiry(token: &str) -> Option<DateTime<Utc>> {
    let mut parts = token.split('.');
    let (_header, payload, _signature) = (parts.next()?, parts.next()?, parts.next()?);
    let claims: Value = serde_json::from_slice(&JWT_BASE64.decode(payload).ok()?).ok()?;
    let exp = claims.get("exp")?.as_f64()?;
    DateTime::from_timestamp(exp as i64, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: &Value) -> String {
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let header = engine.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let payload = engine.encode(serde_json::to_vec(claims).unwrap());
        format!("{header}.{payload}.c2lnbmF0dXJl")
    }

    #[test]
    fn jwt_expiry_reads_exp_claim() {
        let token = jwt(&json!({"sub": "monitor", "exp": 1_800_000_000}));
        assert_eq!(jwt_expiry(&token).unwrap().timestamp(), 1_800_000_000);
    }

    #[test]
    fn jwt_expiry_without_exp_is_none() {
        assert_eq!(jwt_expiry(&jwt(&json!({"sub": "monitor"}))), None);
        assert_eq!(jwt_expiry("opaque-token"), None);
    }

    #[test]
    fn parse_login_response_reads_nested_field() {
        let body = br#"{"data": {"token": "abc"}, "expires_in": 120}"#;
        let now = Utc::now();
        let token = parse_login_response(body, "data.token", now).unwrap();
        assert_eq!(token.value.expose(), "abc");
        assert_eq!(token.expires_at, Some(now + TimeDelta::seconds(120)));
    }

    #[test]
    fn parse_login_response_names_missing_field() {
        let error = parse_login_response(b"{}", "access_token", Utc::now()).unwrap_err();
        assert!(error.to_string().contains("no string field \"access_token\""));
    }
}
