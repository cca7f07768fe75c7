//! Checking: the types of values, the schemas of the built-in settings
//! (service, image, environment, health) and the rules on values (ranges,
//! secrets, names). Evaluation calls into it for every value it binds.

pub mod schema;
pub mod types;

pub use schema::{Field, Schema};
pub use types::{Type, conform, parse_type};
