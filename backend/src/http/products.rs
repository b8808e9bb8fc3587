//! `/api/products`: sample protected data.

use std::sync::LazyLock;

use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use shared::Product;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use shared::names::paths;

use super::HttpState;
use super::extract::AuthUser;

/// The product routes.
pub fn router() -> OpenApiRouter<HttpState> {
    OpenApiRouter::new().routes(routes!(list))
}

/// Sample protected data.
#[utoipa::path(
    get,
    path = paths::PRODUCTS,
    tag = "account",
    security(("access_cookie" = []), ("bearer" = [])),
    responses((status = 200, description = "The products.", body = Vec<Product>))
)]
async fn list(_auth: AuthUser) -> impl IntoResponse {
    /// The list never changes, so it is serialised once.
    static BODY: LazyLock<Vec<u8>> = LazyLock::new(|| {
        let items = [
            (1, "Mechanical keyboard", 12_900),
            (2, "Noise-cancelling headphones", 24_900),
            (3, "USB-C dock", 8_950),
            (4, "Ergonomic mouse", 5_900),
            (5, "27-inch monitor", 32_900),
        ];
        let products: Vec<Product> = items
            .into_iter()
            .map(|(id, name, price_cents)| Product {
                id,
                name: name.to_owned(),
                price_cents,
            })
            .collect();
        serde_json::to_vec(&products).expect("products serialise")
    });
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        BODY.as_slice(),
    )
}
