//! [`CognitoAdmin`]: the few user pool operations the demo and the tests need, over a Cognito client the
//! caller builds (this library reads no AWS configuration of its own).

use aws_sdk_cognitoidentityprovider::error::DisplayErrorContext;
use aws_sdk_cognitoidentityprovider::types::{AttributeType, AuthFlowType, ExplicitAuthFlowsType, MessageActionType};
use aws_sdk_cognitoidentityprovider::Client;

use crate::config::issuer_url;

/// Why a Cognito admin operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The service (or the network) refused the call.
    #[error("Cognito {operation} failed: {message}")]
    Service { operation: &'static str, message: String },
    /// The answer lacked something the operation always returns.
    #[error("Cognito {operation} answered without {field}")]
    Missing { operation: &'static str, field: &'static str },
    /// Sign-in needs a challenge answered (e.g. `NEW_PASSWORD_REQUIRED` for a temporary password).
    #[error("Cognito sign-in asks for the {0} challenge")]
    Challenge(String),
}

fn service<E>(operation: &'static str) -> impl FnOnce(E) -> AdminError
where
    E: std::error::Error,
{
    move |error| AdminError::Service { operation, message: DisplayErrorContext(&error).to_string() }
}

/// The tokens of a successful sign-in.
#[derive(Clone)]
pub struct Tokens {
    pub access_token: String,
    pub id_token: String,
    pub refresh_token: Option<String>,
    /// Lifetime of the access and id tokens, in seconds.
    pub expires_in: i32,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens").field("expires_in", &self.expires_in).finish_non_exhaustive()
    }
}

/// A pool, its app client and a user, made by [`CognitoAdmin::create_demo`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoPool {
    pub pool_id: String,
    pub client_id: String,
    /// The user's `sub`: the `user_id` the ingest will record for their verified tokens.
    pub user_sub: String,
}

/// User pool administration over an `aws-sdk-cognitoidentityprovider` [`Client`].
#[derive(Clone, Debug)]
pub struct CognitoAdmin {
    client: Client,
}

impl CognitoAdmin {
    pub fn new(client: Client) -> CognitoAdmin {
        CognitoAdmin { client }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The `iss` of the pool's tokens, from the client's region (`None` if the client has no region).
    pub fn issuer(&self, pool_id: &str) -> Option<String> {
        self.client.config().region().map(|region| issuer_url(region.as_ref(), pool_id))
    }

    /// Creates a user pool with Cognito's default policies; returns its id.
    pub async fn create_user_pool(&self, name: &str) -> Result<String, AdminError> {
        const OP: &str = "CreateUserPool";
        let output = self.client.create_user_pool().pool_name(name).send().await.map_err(service(OP))?;
        output
            .user_pool()
            .and_then(|pool| pool.id())
            .map(str::to_owned)
            .ok_or(AdminError::Missing { operation: OP, field: "the pool id" })
    }

    /// Creates an app client without a secret that allows `USER_PASSWORD_AUTH` (and refresh); returns its id.
    pub async fn create_app_client(&self, pool_id: &str, name: &str) -> Result<String, AdminError> {
        const OP: &str = "CreateUserPoolClient";
        let output = self
            .client
            .create_user_pool_client()
            .user_pool_id(pool_id)
            .client_name(name)
            .generate_secret(false)
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
            .send()
            .await
            .map_err(service(OP))?;
        output
            .user_pool_client()
            .and_then(|client| client.client_id())
            .map(str::to_owned)
            .ok_or(AdminError::Missing { operation: OP, field: "the client id" })
    }

    /// Creates a confirmed user with a permanent password (AdminCreateUser with no invitation message, then
    /// AdminSetUserPassword `Permanent`), so they can sign in at once; returns the user's `sub`.
    pub async fn create_user(&self, pool_id: &str, username: &str, password: &str) -> Result<String, AdminError> {
        const OP: &str = "AdminCreateUser";
        let output = self
            .client
            .admin_create_user()
            .user_pool_id(pool_id)
            .username(username)
            .message_action(MessageActionType::Suppress)
            .send()
            .await
            .map_err(service(OP))?;
        self.client
            .admin_set_user_password()
            .user_pool_id(pool_id)
            .username(username)
            .password(password)
            .permanent(true)
            .send()
            .await
            .map_err(service("AdminSetUserPassword"))?;
        match output.user().and_then(|user| sub_of(user.attributes())) {
            Some(sub) => Ok(sub),
            None => self.user_sub(pool_id, username).await,
        }
    }

    /// The user's `sub` attribute (AdminGetUser).
    pub async fn user_sub(&self, pool_id: &str, username: &str) -> Result<String, AdminError> {
        const OP: &str = "AdminGetUser";
        let output =
            self.client.admin_get_user().user_pool_id(pool_id).username(username).send().await.map_err(service(OP))?;
        sub_of(output.user_attributes()).ok_or(AdminError::Missing { operation: OP, field: "the sub attribute" })
    }

    /// Signs in with `USER_PASSWORD_AUTH` (InitiateAuth); returns the access and id tokens.
    pub async fn sign_in(&self, client_id: &str, username: &str, password: &str) -> Result<Tokens, AdminError> {
        const OP: &str = "InitiateAuth";
        let output = self
            .client
            .initiate_auth()
            .auth_flow(AuthFlowType::UserPasswordAuth)
            .client_id(client_id)
            .auth_parameters("USERNAME", username)
            .auth_parameters("PASSWORD", password)
            .send()
            .await
            .map_err(service(OP))?;
        let Some(result) = output.authentication_result() else {
            return Err(match output.challenge_name() {
                Some(challenge) => AdminError::Challenge(challenge.as_str().to_owned()),
                None => AdminError::Missing { operation: OP, field: "an authentication result" },
            });
        };
        let access_token =
            result.access_token().ok_or(AdminError::Missing { operation: OP, field: "the access token" })?;
        let id_token = result.id_token().ok_or(AdminError::Missing { operation: OP, field: "the id token" })?;
        Ok(Tokens {
            access_token: access_token.to_owned(),
            id_token: id_token.to_owned(),
            refresh_token: result.refresh_token().map(str::to_owned),
            expires_in: result.expires_in(),
        })
    }

    /// Pool `pool_name`, app client `client_name`, and user `username` with a permanent `password`.
    pub async fn create_demo(
        &self,
        pool_name: &str,
        client_name: &str,
        username: &str,
        password: &str,
    ) -> Result<DemoPool, AdminError> {
        let pool_id = self.create_user_pool(pool_name).await?;
        let client_id = self.create_app_client(&pool_id, client_name).await?;
        let user_sub = self.create_user(&pool_id, username, password).await?;
        Ok(DemoPool { pool_id, client_id, user_sub })
    }

    /// Deletes the user pool (and with it its clients and users).
    pub async fn delete_user_pool(&self, pool_id: &str) -> Result<(), AdminError> {
        self.client.delete_user_pool().user_pool_id(pool_id).send().await.map_err(service("DeleteUserPool"))?;
        Ok(())
    }
}

fn sub_of(attributes: &[AttributeType]) -> Option<String> {
    attributes.iter().find(|a| a.name() == "sub").and_then(|a| a.value()).map(str::to_owned)
}
