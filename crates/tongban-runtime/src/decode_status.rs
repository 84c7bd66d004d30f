//! A request body that does not decode as the method's protobuf message is the caller's error:
//! INVALID_ARGUMENT, not the INTERNAL that tonic's prost codec gives it.
//!
//! tonic maps a prost `DecodeError` of a request to `Status::internal` (following gRPC's status
//! code table, written for client libraries). On a server that promises "zero INTERNAL from
//! input", INTERNAL must mean a fault of ours, so this layer rewrites exactly that refusal
//! (trailers-only, status in the response headers, before any handler ran) to INVALID_ARGUMENT
//! with a message naming the request body. Nothing else is touched.

use std::task::{Context, Poll};

use tonic::codegen::http::{self, HeaderValue};
use tonic::codegen::{BoxFuture, Service};

/// The message tonic's prost decoder starts a request decoding failure with.
const DECODE_FAILURE: &str = "failed to decode Protobuf message";

/// The layer: wraps each service of the server in [`DecodeStatus`].
pub fn layer<S>() -> tower_layer::LayerFn<fn(S) -> DecodeStatus<S>> {
    tower_layer::layer_fn(|inner| DecodeStatus { inner })
}

/// See the module documentation.
#[derive(Debug, Clone)]
pub struct DecodeStatus<S> {
    inner: S,
}

impl<S, B, R> Service<http::Request<B>> for DecodeStatus<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
{
    type Response = http::Response<R>;
    type Error = S::Error;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let response = self.inner.call(request);
        Box::pin(async move {
            let mut response = response.await?;
            rewrite(response.headers_mut());
            Ok(response)
        })
    }
}

/// Turns a trailers-only INTERNAL for an undecodable request into INVALID_ARGUMENT.
fn rewrite(headers: &mut http::HeaderMap) {
    let internal = headers
        .get("grpc-status")
        .is_some_and(|v| v.as_bytes() == b"13");
    if !internal {
        return;
    }
    let decode_failure = headers
        .get("grpc-message")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|m| percent_decoded(m).starts_with(DECODE_FAILURE));
    if !decode_failure {
        return;
    }
    headers.insert("grpc-status", HeaderValue::from_static("3"));
    // Percent-encoded as gRPC wants: "请求体不是有效的 protobuf 消息 / request body is not a valid
    // protobuf message of this method".
    headers.insert(
        "grpc-message",
        HeaderValue::from_static(
            "%E8%AF%B7%E6%B1%82%E4%BD%93%E4%B8%8D%E6%98%AF%E6%9C%89%E6%95%88%E7%9A%84%20protobuf%20%E6%B6%88%E6%81%AF%20/%20request%20body%20is%20not%20a%20valid%20protobuf%20message%20of%20this%20method",
        ),
    );
    headers.remove("grpc-status-details-bin");
}

/// `grpc-message` is percent-encoded; the prefix compared is ASCII, so decoding `%20` suffices.
fn percent_decoded(message: &str) -> String {
    message.replace("%20", " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(status: &'static str, message: &'static str) -> http::HeaderMap {
        let mut headers = http::HeaderMap::new();
        headers.insert("grpc-status", HeaderValue::from_static(status));
        headers.insert("grpc-message", HeaderValue::from_static(message));
        headers
    }

    #[test]
    fn only_an_undecodable_request_becomes_invalid_argument() {
        let mut decode = headers(
            "13",
            "failed%20to%20decode%20Protobuf%20message:%20invalid%20wire%20type",
        );
        rewrite(&mut decode);
        assert_eq!(decode["grpc-status"], "3");
        let message = decode["grpc-message"].to_str().unwrap_or_default();
        assert!(message.contains("request%20body%20is%20not%20a%20valid"));

        let mut other_internal = headers("13", "internal%20error%20ref%201234");
        rewrite(&mut other_internal);
        assert_eq!(other_internal["grpc-status"], "13");

        let mut not_found = headers("5", "failed%20to%20decode%20Protobuf%20message");
        rewrite(&mut not_found);
        assert_eq!(not_found["grpc-status"], "5");
    }
}
