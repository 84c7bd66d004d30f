//! Stored codes decoded at the row boundary: a column holding an enum's code (`claimed`,
//! `approve`, `received`, …) decodes into the domain type or fails the row. A code that does not
//! decode is an error (INTERNAL with a reference id for an RPC, a rejected delivery for a
//! consumer), never a guess.

use std::str::FromStr;

use sqlx::Postgres;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgTypeInfo, PgValueRef};
use tongban_bus::HandleError;

/// A value of `T` stored as its text code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored<T>(pub T);

impl<T> sqlx::Type<Postgres> for Stored<T> {
    fn type_info() -> PgTypeInfo {
        <String as sqlx::Type<Postgres>>::type_info()
    }

    fn compatible(ty: &PgTypeInfo) -> bool {
        <String as sqlx::Type<Postgres>>::compatible(ty)
    }
}

impl<'r, T> sqlx::Decode<'r, Postgres> for Stored<T>
where
    T: FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        let text = <&str as sqlx::Decode<'r, Postgres>>::decode(value)?;
        Ok(Self(text.parse()?))
    }
}

/// A value of `T` stored as its text code, or as the empty text when the event carried none
/// (an unspecified scope or mode). Any other text that does not decode fails the row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredOptional<T>(pub Option<T>);

impl<T> sqlx::Type<Postgres> for StoredOptional<T> {
    fn type_info() -> PgTypeInfo {
        <String as sqlx::Type<Postgres>>::type_info()
    }

    fn compatible(ty: &PgTypeInfo) -> bool {
        <String as sqlx::Type<Postgres>>::compatible(ty)
    }
}

impl<'r, T> sqlx::Decode<'r, Postgres> for StoredOptional<T>
where
    T: FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        let text = <&str as sqlx::Decode<'r, Postgres>>::decode(value)?;
        if text.is_empty() {
            return Ok(Self(None));
        }
        Ok(Self(Some(text.parse()?)))
    }
}

/// How a consumer ends a delivery whose rows failed: a stored value that does not decode will
/// not decode on a retry either, so the delivery is rejected; anything else is retried.
pub fn consumer_error(err: sqlx::Error) -> HandleError {
    match err {
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => {
            HandleError::Reject(format!("a stored row does not decode: {err}"))
        }
        other => HandleError::Retry(Box::new(other)),
    }
}
