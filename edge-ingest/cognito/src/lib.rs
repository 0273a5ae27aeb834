//! CognitoTokenVerifier: the AWS adapter of TokenVerifier (Cognito user pool JWTs, JWKS cached with rotation), and a small Cognito admin client
