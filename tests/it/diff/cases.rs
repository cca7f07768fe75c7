//! The before/after pairs, written by hand: each states every plan change
//! (`component change setting`, `-` for the environment itself), the
//! artifact changes that must be among the rest (`target component action
//! resource-or-file setting`), every risk with the component that carries
//! it, and impact sets.

use super::Case;

const SHOP: &str = r#"
import "mysql"
import "load_balancer"

landscape shop {
  mysql db {
    database = "shop"
    password = secret("shop/db")
  }
  service api {
    image = "ghcr.io/acme/api:1.4.2"
    ports { http = 8080 }
    env {
      DB_HOST = db.host
      DB_NAME = db.database
      DB_PASSWORD = db.password
    }
    health { command = ["CMD", "/api", "--check"] }
  }
  load_balancer lb {
    domain = "shop.example.com"
    routes { "/" = api.ports.http }
  }
}
"#;

pub const CASES: &[Case] = &[
    // ── Nothing that runs changes ─────────────────────────────────────────
    Case {
        name: "reformatting",
        before: SHOP,
        after: r#"
import "mysql"
import "load_balancer"
landscape shop {
    mysql db { database = "shop"
               password = secret("shop/db") }

    service api {
        image = "ghcr.io/acme/api:1.4.2"
        ports {
            http = 8080
        }
        env { DB_HOST = db.host, DB_NAME = db.database, DB_PASSWORD = db.password }
        health {
            command = ["CMD", "/api", "--check"]
        }
    }
    load_balancer lb { domain = "shop.example.com"
                       routes { "/" = api.ports.http } }
}
"#,
        ..Case::EMPTY
    },
    Case {
        name: "comments",
        before: SHOP,
        after: r#"
// The shop: one API, its database, and the public entry point.
import "mysql"
import "load_balancer"

landscape shop {
  // Orders and customers.
  mysql db {
    database = "shop"   // created on first start
    password = secret("shop/db")
  }
  /* The API. */
  service api {
    image = "ghcr.io/acme/api:1.4.2"
    ports { http = 8080 }
    env {
      DB_HOST = db.host
      DB_NAME = db.database
      DB_PASSWORD = db.password
    }
    health { command = ["CMD", "/api", "--check"] }
  }
  load_balancer lb {
    domain = "shop.example.com"
    routes { "/" = api.ports.http }
  }
}
"#,
        ..Case::EMPTY
    },
    Case {
        name: "settings_and_components_reordered",
        before: SHOP,
        after: r#"
import "load_balancer"
import "mysql"

landscape shop {
  load_balancer lb {
    routes { "/" = api.ports.http }
    domain = "shop.example.com"
  }
  service api {
    health { command = ["CMD", "/api", "--check"] }
    env {
      DB_PASSWORD = db.password
      DB_NAME = db.database
      DB_HOST = db.host
    }
    ports { http = 8080 }
    image = "ghcr.io/acme/api:1.4.2"
  }
  mysql db {
    password = secret("shop/db")
    database = "shop"
  }
}
"#,
        ..Case::EMPTY
    },
    Case {
        name: "doc_comments_on_components",
        before: SHOP,
        after: r#"
import "mysql"
import "load_balancer"

/// The shop.
landscape shop {
  /// Orders and customers.
  mysql db {
    database = "shop"
    password = secret("shop/db")
  }
  /// The shop's API.
  service api {
    image = "ghcr.io/acme/api:1.4.2"
    ports { http = 8080 }
    env {
      DB_HOST = db.host
      DB_NAME = db.database
      DB_PASSWORD = db.password
    }
    health { command = ["CMD", "/api", "--check"] }
  }
  load_balancer lb {
    domain = "shop.example.com"
    routes { "/" = api.ports.http }
  }
}
"#,
        ..Case::EMPTY
    },
    Case {
        // An image's doc comment is its description label: data, not a comment.
        name: "image_doc_comment_is_its_description",
        before: r#"
landscape app {
  service web {
    build = site
    ports { http = 8080 }
    health { command = ["CMD", "/site", "--check"] }
  }
}
/// The site.
image site {
  from = "debian:12.5-slim"
  steps = ["RUN echo site > /index.html"]
}
"#,
        after: r#"
landscape app {
  service web {
    build = site
    ports { http = 8080 }
    health { command = ["CMD", "/site", "--check"] }
  }
}
/// The marketing site, as static files.
image site {
  from = "debian:12.5-slim"
  steps = ["RUN echo site > /index.html"]
}
"#,
        plan: &["image:site changed docs"],
        artifacts: &["dockerfile image:site changed images/site/Dockerfile"],
        impact: &[("image:site", &["web"])],
        ..Case::EMPTY
    },
    // ── Components added, removed, renamed ───────────────────────────────
    Case {
        name: "service_added",
        before: r#"
landscape app {
  service web {
    image = "nginx:1.27.0"
    ports { http = 80 }
  }
}
"#,
        after: r#"
landscape app {
  service web {
    image = "nginx:1.27.0"
    ports { http = 80 }
    env { WORKER = "${worker.host}" }
  }
  service worker {
    image = "ghcr.io/acme/worker:2.0.1"
    ports { metrics = 9100 }
  }
}
"#,
        plan: &[
            "worker added -",
            "web added env.WORKER",
            "web added depends_on.worker",
        ],
        artifacts: &[
            "cloudformation worker create WorkerService -",
            "cloudformation worker create WorkerTaskDefinition -",
            "compose worker added services.worker",
        ],
        risks: &["cost worker"],
        impact: &[("worker", &["web"]), ("web", &[])],
        ..Case::EMPTY
    },
    Case {
        name: "stateless_service_removed",
        before: r#"
landscape app {
  service web {
    image = "nginx:1.27.0"
    ports { http = 80 }
  }
  service worker {
    image = "ghcr.io/acme/worker:2.0.1"
  }
}
"#,
        after: r#"
landscape app {
  service web {
    image = "nginx:1.27.0"
    ports { http = 80 }
  }
}
"#,
        plan: &["worker removed -"],
        artifacts: &[
            "cloudformation worker delete WorkerService -",
            "compose worker removed services.worker",
        ],
        risks: &[],
        ..Case::EMPTY
    },
    Case {
        name: "database_removed",
        before: SHOP,
        after: r#"
import "load_balancer"

landscape shop {
  service api {
    image = "ghcr.io/acme/api:1.4.2"
    ports { http = 8080 }
    health { command = ["CMD", "/api", "--check"] }
  }
  load_balancer lb {
    domain = "shop.example.com"
    routes { "/" = api.ports.http }
  }
}
"#,
        plan: &[
            "db removed -",
            "api removed env.DB_HOST",
            "api removed env.DB_NAME",
            "api removed env.DB_PASSWORD",
            "api removed depends_on.db",
        ],
        artifacts: &[
            "cloudformation db delete DbDatabase -",
            "compose db removed volumes[\"db.data\"]",
            "compose db removed services.db",
        ],
        risks: &["data-loss db"],
        impact: &[("db", &["api", "lb"])],
        ..Case::EMPTY
    },
    Case {
        name: "database_removed_in_an_ephemeral_environment",
        before: r#"
import "postgres"

landscape app {
  postgres db {
    database = "app"
    password = secret("app/db")
  }
  service web {
    image = "ghcr.io/acme/web:3.1.0"
    env { DATABASE = "postgres://${db.host}/app" }
  }
}
environment review { ttl = 2h }
"#,
        after: r#"
landscape app {
  service web {
    image = "ghcr.io/acme/web:3.1.0"
  }
}
environment review { ttl = 2h }
"#,
        env: Some("review"),
        plan: &[
            "db removed -",
            "web removed env.DATABASE",
            "web removed depends_on.db",
        ],
        artifacts: &["cloudformation db delete DbDatabase -"],
        risks: &[],
        ..Case::EMPTY
    },
    Case {
        name: "service_renamed",
        before: SHOP,
        after: r#"
import "mysql"
import "load_balancer"

landscape shop {
  mysql db {
    database = "shop"
    password = secret("shop/db")
  }
  service backend {
    image = "ghcr.io/acme/api:1.4.2"
    ports { http = 8080 }
    env {
      DB_HOST = db.host
      DB_NAME = db.database
      DB_PASSWORD = db.password
    }
    health { command = ["CMD", "/api", "--check"] }
  }
  load_balancer lb {
    domain = "shop.example.com"
    routes { "/" = backend.ports.http }
  }
}
"#,
        plan: &["backend changed name", "lb changed routes[\"/\"].component"],
        artifacts: &[
            "cloudformation backend replace BackendService logical id",
            "cloudformation backend replace BackendTaskDefinition logical id",
            "compose backend removed services.api",
            "compose backend added services.backend",
        ],
        risks: &["downtime backend"],
        impact: &[("backend", &["lb"])],
        ..Case::EMPTY
    },
    Case {
        name: "database_renamed",
        before: SHOP,
        after: r#"
import "mysql"
import "load_balancer"

landscape shop {
  mysql orders {
    database = "shop"
    password = secret("shop/db")
  }
  service api {
    image = "ghcr.io/acme/api:1.4.2"
    ports { http = 8080 }
    env {
      DB_HOST = orders.host
      DB_NAME = orders.database
      DB_PASSWORD = orders.password
    }
    health { command = ["CMD", "/api", "--check"] }
  }
  load_balancer lb {
    domain = "shop.example.com"
    routes { "/" = api.ports.http }
  }
}
"#,
        plan: &["orders changed name", "api changed env.DB_HOST"],
        artifacts: &[
            "cloudformation orders replace OrdersDatabase logical id",
            "compose orders removed volumes[\"db.data\"]",
            "compose orders added volumes[\"orders.data\"]",
        ],
        risks: &["data-loss orders"],
        impact: &[("orders", &["api", "lb"])],
        ..Case::EMPTY
    },
    Case {
        name: "replaced_by_a_different_service_is_no_rename",
        before: r#"
landscape app {
  service web {
    image = "nginx:1.27.0"
    ports { http = 80 }
  }
}
"#,
        after: r#"
landscape app {
  service site {
    image = "caddy:2.8.4"
    ports { http = 80 }
  }
}
"#,
        plan: &["site added -", "web removed -"],
        artifacts: &[
            "cloudformation web delete WebService -",
            "cloudformation site create SiteService -",
        ],
        risks: &["cost site"],
        ..Case::EMPTY
    },
    // ── Settings: cost ───────────────────────────────────────────────────
    Case {
        name: "replicas_up",
        before: r#"
landscape app {
  service web {
    image = "nginx:1.27.0"
    replicas = 2
  }
}
"#,
        after: r#"
landscape app {
  service web {
    image = "nginx:1.27.0"
    replicas = 6
  }
}
"#,
        plan: &["web changed replicas"],
        artifacts: &[
            "cloudformation web update WebService Properties.DesiredCount",
            "compose web changed services.web.deploy.replicas",
        ],
        risks: &["cost web"],
        ..Case::EMPTY
    },
    Case {
        name: "replicas_down",
        before: r#"
landscape app {
  service web {
    image = "nginx:1.27.0"
    replicas = 6
  }
}
"#,
        after: r#"
landscape app {
  service web {
    image = "nginx:1.27.0"
    replicas = 2
  }
}
"#,
        plan: &["web changed replicas"],
        artifacts: &["cloudformation web update WebService Properties.DesiredCount"],
        risks: &[],
        ..Case::EMPTY
    },
    Case {
        name: "instance_class_up",
        before: r#"
import "mysql"
landscape app {
  mysql db {
    database = "app"
    password = secret("app/db")
  }
}
"#,
        after: r#"
import "mysql"
landscape app {
  mysql db {
    database = "app"
    password = secret("app/db")
    instance_class = "db.m5.large"
  }
}
"#,
        plan: &["db changed instance_class"],
        artifacts: &["cloudformation db update DbDatabase Properties.DBInstanceClass"],
        risks: &["cost db"],
        ..Case::EMPTY
    },
    Case {
        name: "instance_class_down",
        before: r#"
import "redis"
landscape app {
  redis cache { instance_class = "cache.m5.large" }
}
"#,
        after: r#"
import "redis"
landscape app {
  redis cache { instance_class = "cache.t3.small" }
}
"#,
        plan: &["cache changed node_type"],
        artifacts: &["cloudformation cache update CacheCache Properties.CacheNodeType"],
        risks: &[],
        ..Case::EMPTY
    },
    Case {
        name: "storage_up",
        before: r#"
import "postgres"
landscape app {
  postgres db {
    database = "app"
    password = secret("app/db")
  }
}
"#,
        after: r#"
import "postgres"
landscape app {
  postgres db {
    database = "app"
    password = secret("app/db")
    storage = 200GiB
  }
}
"#,
        plan: &["db changed storage_gib"],
        artifacts: &["cloudformation db update DbDatabase Properties.AllocatedStorage"],
        risks: &["cost db"],
        ..Case::EMPTY
    },
    Case {
        name: "cpu_and_memory_up",
        before: r#"
landscape app {
  service web {
    image = "nginx:1.27.0"
    cpu = 0.25
    memory = 512MiB
  }
}
"#,
        after: r#"
landscape app {
  service web {
    image = "nginx:1.27.0"
    cpu = 1.0
    memory = 2GiB
  }
}
"#,
        plan: &[
            "web changed cpu",
            "web changed memory_mib",
            "web changed limits.cpu",
            "web changed limits.memory_mib",
            "web changed fargate",
        ],
        artifacts: &[
            "cloudformation web replace WebTaskDefinition Properties.Cpu",
            "compose web changed services.web.deploy.resources.limits.cpus",
        ],
        risks: &["cost web"],
        ..Case::EMPTY
    },
    Case {
        name: "managed_service_added",
        before: r#"
landscape app {
  service web {
    image = "ghcr.io/acme/web:3.1.0"
  }
}
"#,
        after: r#"
import "redis"
landscape app {
  redis cache {}
  service web {
    image = "ghcr.io/acme/web:3.1.0"
    env { CACHE_URL = cache.url }
  }
}
"#,
        plan: &[
            "cache added -",
            "web added env.CACHE_URL",
            "web added depends_on.cache",
        ],
        artifacts: &["cloudformation cache create CacheCache -"],
        risks: &["cost cache"],
        impact: &[("cache", &["web"])],
        ..Case::EMPTY
    },
    // ── Settings: data loss and replacement ──────────────────────────────
    Case {
        name: "database_name_is_create_only",
        before: SHOP,
        after: r#"
import "mysql"
import "load_balancer"

landscape shop {
  mysql db {
    database = "orders"
    password = secret("shop/db")
  }
  service api {
    image = "ghcr.io/acme/api:1.4.2"
    ports { http = 8080 }
    env {
      DB_HOST = db.host
      DB_NAME = db.database
      DB_PASSWORD = db.password
    }
    health { command = ["CMD", "/api", "--check"] }
  }
  load_balancer lb {
    domain = "shop.example.com"
    routes { "/" = api.ports.http }
  }
}
"#,
        plan: &[
            "db changed database",
            "db changed env.MYSQL_DATABASE",
            "api changed env.DB_NAME",
        ],
        artifacts: &[
            "cloudformation db replace DbDatabase Properties.DBName",
            "cloudformation api replace ApiTaskDefinition Properties.ContainerDefinitions[api].Environment[DB_NAME].Value",
            "compose db changed services.db.environment.MYSQL_DATABASE",
        ],
        risks: &["data-loss db"],
        impact: &[("db", &["api", "lb"]), ("api", &["lb"])],
        ..Case::EMPTY
    },
    Case {
        name: "engine_upgrade_is_an_update_not_a_replacement",
        before: r#"
import "postgres"
landscape app {
  postgres db {
    database = "app"
    password = secret("app/db")
    version = "15.13"
  }
}
"#,
        after: r#"
import "postgres"
landscape app {
  postgres db {
    database = "app"
    password = secret("app/db")
    version = "16.9"
  }
}
"#,
        plan: &[
            "db changed version",
            "db changed engine_version",
            "db changed image",
        ],
        artifacts: &["cloudformation db update DbDatabase Properties.EngineVersion"],
        risks: &[],
        ..Case::EMPTY
    },
    Case {
        name: "database_user_is_create_only",
        before: r#"
import "postgres"
landscape app {
  postgres db {
    database = "app"
    password = secret("app/db")
  }
}
"#,
        after: r#"
import "postgres"
landscape app {
  postgres db {
    database = "app"
    user = "owner"
    password = secret("app/db")
  }
}
"#,
        plan: &[
            "db changed user",
            "db changed env.POSTGRES_USER",
            "db changed health.check.command",
        ],
        artifacts: &["cloudformation db replace DbDatabase Properties.MasterUsername"],
        risks: &["data-loss db"],
        ..Case::EMPTY
    },
    Case {
        name: "service_volume_removed",
        before: r#"
landscape app {
  service files {
    image = "ghcr.io/acme/files:1.0.0"
    volumes { uploads = "/srv/uploads" }
  }
}
"#,
        after: r#"
landscape app {
  service files {
    image = "ghcr.io/acme/files:1.0.0"
  }
}
"#,
        plan: &["files removed volumes.uploads"],
        artifacts: &["compose files removed volumes[\"files.uploads\"]"],
        risks: &["data-loss files"],
        ..Case::EMPTY
    },
    Case {
        name: "environment_becomes_ephemeral",
        before: r#"
import "postgres"
landscape app {
  postgres db {
    database = "app"
    password = secret("app/db")
  }
}
environment staging {}
"#,
        after: r#"
import "postgres"
landscape app {
  postgres db {
    database = "app"
    password = secret("app/db")
  }
}
environment staging { ttl = 3d }
"#,
        env: Some("staging"),
        plan: &["- changed lifetime.kind", "- added lifetime.ttl_seconds"],
        artifacts: &[],
        risks: &["data-loss -"],
        ..Case::EMPTY
    },
    // ── Settings: downtime ───────────────────────────────────────────────
    Case {
        name: "replicas_to_zero",
        before: r#"
landscape app {
  service web {
    image = "nginx:1.27.0"
    replicas = 2
  }
}
"#,
        after: r#"
landscape app {
  service web {
    image = "nginx:1.27.0"
    replicas = 0
  }
}
"#,
        plan: &["web changed replicas"],
        artifacts: &["cloudformation web update WebService Properties.DesiredCount"],
        risks: &["downtime web"],
        ..Case::EMPTY
    },
    Case {
        name: "port_under_a_live_route",
        before: SHOP,
        after: r#"
import "mysql"
import "load_balancer"

landscape shop {
  mysql db {
    database = "shop"
    password = secret("shop/db")
  }
  service api {
    image = "ghcr.io/acme/api:1.4.2"
    ports { http = 9090 }
    env {
      DB_HOST = db.host
      DB_NAME = db.database
      DB_PASSWORD = db.password
    }
    health { command = ["CMD", "/api", "--check"] }
  }
  load_balancer lb {
    domain = "shop.example.com"
    routes { "/" = api.ports.http }
  }
}
"#,
        plan: &[
            "api changed ports.http",
            "api changed access.lb",
            "api changed endpoints.aws.port",
            "api changed endpoints.compose.port",
            "lb changed routes[\"/\"].port",
        ],
        artifacts: &["cloudformation lb replace LbRootTargetGroup Properties.Port"],
        risks: &["downtime lb"],
        impact: &[("api", &["lb"])],
        ..Case::EMPTY
    },
    Case {
        name: "load_balancer_becomes_internal",
        before: r#"
landscape app {
  service web {
    image = "nginx:1.27.0"
    ports { http = 80 }
    public = true
  }
}
"#,
        after: r#"
landscape app {
  service web {
    image = "nginx:1.27.0"
    ports { http = 80 }
  }
}
"#,
        plan: &["web changed public", "web removed published[\"80\"]"],
        artifacts: &[],
        risks: &[],
        ..Case::EMPTY
    },
    // ── Settings: exposure ───────────────────────────────────────────────
    Case {
        name: "new_route",
        before: SHOP,
        after: r#"
import "mysql"
import "load_balancer"

landscape shop {
  mysql db {
    database = "shop"
    password = secret("shop/db")
  }
  service api {
    image = "ghcr.io/acme/api:1.4.2"
    ports { http = 8080 }
    env {
      DB_HOST = db.host
      DB_NAME = db.database
      DB_PASSWORD = db.password
    }
    health { command = ["CMD", "/api", "--check"] }
  }
  service admin {
    image = "ghcr.io/acme/admin:0.9.0"
    ports { http = 8081 }
    env { DB_HOST = db.host }
  }
  load_balancer lb {
    domain = "shop.example.com"
    routes {
      "/" = api.ports.http
      "/admin" = admin.ports.http
    }
  }
}
"#,
        plan: &[
            "admin added -",
            "db added access.admin",
            "lb added depends_on.admin",
            "lb added routes[\"/admin\"]",
            "lb changed routes[\"/\"].priority",
        ],
        artifacts: &[
            "cloudformation lb create LbAdminRule -",
            "cloudformation db create DbFromAdminPort3306 -",
        ],
        risks: &["cost admin", "exposure db", "exposure lb"],
        impact: &[("admin", &["lb"]), ("db", &["api", "admin", "lb"])],
        ..Case::EMPTY
    },
    Case {
        name: "tls_removed",
        before: SHOP,
        after: r#"
import "mysql"
import "load_balancer"

landscape shop {
  mysql db {
    database = "shop"
    password = secret("shop/db")
  }
  service api {
    image = "ghcr.io/acme/api:1.4.2"
    ports { http = 8080 }
    env {
      DB_HOST = db.host
      DB_NAME = db.database
      DB_PASSWORD = db.password
    }
    health { command = ["CMD", "/api", "--check"] }
  }
  load_balancer lb {
    domain = "shop.example.com"
    tls = false
    routes { "/" = api.ports.http }
  }
}
"#,
        plan: &[
            "lb changed tls",
            "lb changed endpoints.aws.scheme",
            "lb changed endpoints.aws.tls",
        ],
        artifacts: &[
            "cloudformation lb delete LbHttpsListener -",
            "cloudformation lb delete LbCertificate -",
        ],
        risks: &["exposure lb"],
        ..Case::EMPTY
    },
    Case {
        name: "new_ingress_source",
        before: r#"
import "redis"
landscape app {
  redis cache {}
  service web {
    image = "ghcr.io/acme/web:3.1.0"
    env { CACHE_URL = cache.url }
  }
  service worker {
    image = "ghcr.io/acme/worker:2.0.1"
  }
}
"#,
        after: r#"
import "redis"
landscape app {
  redis cache {}
  service web {
    image = "ghcr.io/acme/web:3.1.0"
    env { CACHE_URL = cache.url }
  }
  service worker {
    image = "ghcr.io/acme/worker:2.0.1"
    env { CACHE_HOST = cache.host }
  }
}
"#,
        plan: &[
            "cache added access.worker",
            "worker added env.CACHE_HOST",
            "worker added depends_on.cache",
        ],
        artifacts: &["cloudformation cache create CacheFromWorkerPort6379 -"],
        risks: &["exposure cache"],
        impact: &[("cache", &["web", "worker"])],
        ..Case::EMPTY
    },
    Case {
        name: "service_made_public",
        before: r#"
landscape app {
  service web {
    image = "nginx:1.27.0"
    ports { http = 80 }
  }
}
"#,
        after: r#"
landscape app {
  service web {
    image = "nginx:1.27.0"
    ports { http = 80 }
    public = true
  }
}
"#,
        plan: &["web changed public", "web added published[\"80\"]"],
        artifacts: &["compose web added services.web.ports"],
        risks: &["exposure web"],
        ..Case::EMPTY
    },
    Case {
        name: "secret_turned_literal",
        before: r#"
import "postgres"
landscape app {
  postgres db {
    database = "app"
    password = secret("app/db")
  }
  service web {
    image = "ghcr.io/acme/web:3.1.0"
    env { DB_PASSWORD = db.password }
  }
}
"#,
        after: r#"
import "postgres"
landscape app {
  postgres db {
    database = "app"
    password = secret("app/db")
  }
  service web {
    image = "ghcr.io/acme/web:3.1.0"
    env { DB_PASSWORD = "hunter2-in-plain-text" }
  }
}
"#,
        plan: &["web changed env.DB_PASSWORD", "web removed depends_on.db"],
        artifacts: &[
            "cloudformation web replace WebTaskDefinition Properties.ContainerDefinitions[web].Environment",
        ],
        risks: &["exposure web"],
        absent: &["hunter2"],
        ..Case::EMPTY
    },
    Case {
        name: "secret_renamed_shows_names_only",
        before: r#"
import "postgres"
landscape app {
  postgres db {
    database = "app"
    password = secret("app/db")
  }
}
"#,
        after: r#"
import "postgres"
landscape app {
  postgres db {
    database = "app"
    password = secret("app/db-2026")
  }
}
"#,
        plan: &["db changed password", "db changed env.POSTGRES_PASSWORD"],
        artifacts: &["cloudformation db update DbDatabase Properties.MasterUserPassword"],
        risks: &[],
        ..Case::EMPTY
    },
    // ── One target only ─────────────────────────────────────────────────
    Case {
        name: "compose_escape_hatch_changes_compose_only",
        before: r#"
landscape app {
  service web {
    image = "nginx:1.27.0"
    compose { stop_grace_period = "10s" }
  }
}
"#,
        after: r#"
landscape app {
  service web {
    image = "nginx:1.27.0"
    compose { stop_grace_period = "30s" }
  }
}
"#,
        plan: &["web changed compose.stop_grace_period"],
        artifacts: &["compose web changed services.web.stop_grace_period"],
        targets: &[("web", &["compose"])],
        risks: &[],
        ..Case::EMPTY
    },
    Case {
        name: "cloudformation_escape_hatch_changes_cloudformation_only",
        before: r#"
landscape app {
  service web {
    image = "nginx:1.27.0"
    cloudformation {
      WebAlerts { Type = "AWS::SNS::Topic", Properties { TopicName = "web-alerts" } }
    }
  }
}
"#,
        after: r#"
landscape app {
  service web {
    image = "nginx:1.27.0"
    cloudformation {
      WebAlerts { Type = "AWS::SNS::Topic", Properties { TopicName = "web-alerts-v2" } }
    }
  }
}
"#,
        plan: &["web changed cloudformation.WebAlerts.Properties.TopicName"],
        artifacts: &["cloudformation web update WebAlerts Properties.TopicName"],
        targets: &[("web", &["cloudformation"])],
        risks: &[],
        ..Case::EMPTY
    },
    Case {
        name: "load_balancer_health_thresholds_change_cloudformation_only",
        before: r#"
import "load_balancer"
landscape app {
  service web {
    build = site
    ports { http = 8080 }
    health { path = "/health" }
  }
  load_balancer lb {
    domain = "app.example.com"
    routes { "/" = web.ports.http }
  }
}
image site { from = "debian:12.5-slim" }
"#,
        after: r#"
import "load_balancer"
landscape app {
  service web {
    build = site
    ports { http = 8080 }
    health { path = "/health", healthy = 3 }
  }
  load_balancer lb {
    domain = "app.example.com"
    routes { "/" = web.ports.http }
  }
}
image site { from = "debian:12.5-slim" }
"#,
        plan: &[
            "web added health.healthy",
            "image:site added health.healthy",
            "lb changed routes[\"/\"].health.healthy",
        ],
        artifacts: &["cloudformation lb update LbRootTargetGroup Properties.HealthyThresholdCount"],
        targets: &[("lb", &["cloudformation"])],
        risks: &[],
        ..Case::EMPTY
    },
    // ── Environments ────────────────────────────────────────────────────
    Case {
        name: "environment_only_change",
        before: r#"
landscape app {
  service web {
    image = "nginx:1.27.0"
    replicas = 2
  }
}
environment integration {}
environment production { web.replicas = 4 }
"#,
        after: r#"
landscape app {
  service web {
    image = "nginx:1.27.0"
    replicas = 2
  }
}
environment integration {}
environment production { web.replicas = 8 }
"#,
        env: Some("production"),
        plan: &["web changed replicas"],
        artifacts: &["cloudformation web update WebService Properties.DesiredCount"],
        risks: &["cost web"],
        ..Case::EMPTY
    },
    Case {
        name: "environment_only_change_leaves_others_alone",
        before: r#"
landscape app {
  service web {
    image = "nginx:1.27.0"
    replicas = 2
  }
}
environment integration {}
environment production { web.replicas = 4 }
"#,
        after: r#"
landscape app {
  service web {
    image = "nginx:1.27.0"
    replicas = 2
  }
}
environment integration {}
environment production { web.replicas = 8 }
"#,
        env: Some("integration"),
        ..Case::EMPTY
    },
    Case {
        name: "ttl_and_purpose",
        before: r#"
landscape app {
  service web { image = "nginx:1.27.0" }
}
environment story {
  param id: string
  ttl = 14h
  purpose = "user test for story ${id}"
}
"#,
        after: r#"
landscape app {
  service web { image = "nginx:1.27.0" }
}
environment story {
  param id: string
  ttl = 2d
  purpose = "acceptance test for story ${id}"
}
"#,
        env: Some("story"),
        plan: &["- changed lifetime.ttl_seconds", "- changed purpose"],
        risks: &[],
        ..Case::EMPTY
    },
    Case {
        name: "parameter_default_flows_into_components",
        before: r#"
import "load_balancer"
landscape app {
  param domain: string = "app.example.com"
  service web {
    image = "nginx:1.27.0"
    ports { http = 80 }
    env { PUBLIC_URL = "https://${domain}" }
  }
  load_balancer lb {
    domain = domain
    routes { "/" = web.ports.http }
  }
}
"#,
        after: r#"
import "load_balancer"
landscape app {
  param domain: string = "www.example.com"
  service web {
    image = "nginx:1.27.0"
    ports { http = 80 }
    env { PUBLIC_URL = "https://${domain}" }
  }
  load_balancer lb {
    domain = domain
    routes { "/" = web.ports.http }
  }
}
"#,
        plan: &["web changed env.PUBLIC_URL", "lb changed domain"],
        artifacts: &[
            "cloudformation lb replace LbCertificate Properties.DomainName",
            "cloudformation lb update LbDnsRecord Properties.Name",
        ],
        risks: &[],
        ..Case::EMPTY
    },
    // ── Modules and images ───────────────────────────────────────────────
    Case {
        name: "imported_kind_changed",
        before: r#"
import "./kinds.bom"
landscape app {
  go_api orders {}
  go_api users {}
}
"#,
        after: r#"
import "./kinds.bom"
landscape app {
  go_api orders {}
  go_api users {}
}
"#,
        module: Some((
            r#"
kind go_api {
  image = "ghcr.io/acme/go-api:1.0.0"
  ports { http = 8080 }
  memory = 256MiB
}
"#,
            r#"
kind go_api {
  image = "ghcr.io/acme/go-api:1.0.0"
  ports { http = 8080 }
  memory = 1GiB
}
"#,
        )),
        plan: &[
            "orders changed memory_mib",
            "orders changed limits.memory_mib",
            "orders changed fargate",
            "users changed memory_mib",
            "users changed limits.memory_mib",
            "users changed fargate",
        ],
        artifacts: &["cloudformation orders replace OrdersTaskDefinition Properties.Memory"],
        risks: &["cost orders", "cost users"],
        ..Case::EMPTY
    },
    Case {
        name: "image_definition_changed",
        before: r#"
import "load_balancer"
landscape app {
  service web {
    build = site
    ports { http = 8080 }
    health { command = ["CMD", "/site", "--check"] }
  }
  load_balancer lb {
    domain = "app.example.com"
    routes { "/" = web.ports.http }
  }
}
image base { from = "debian:12.5-slim" }
image site {
  from = base
  steps = ["RUN echo one > /index.html"]
}
"#,
        after: r#"
import "load_balancer"
landscape app {
  service web {
    build = site
    ports { http = 8080 }
    health { command = ["CMD", "/site", "--check"] }
  }
  load_balancer lb {
    domain = "app.example.com"
    routes { "/" = web.ports.http }
  }
}
image base {
  from = "debian:12.5-slim"
  steps = ["RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates=20230311 && rm -rf /var/lib/apt/lists/*"]
}
image site {
  from = base
  steps = ["RUN echo one > /index.html"]
}
"#,
        plan: &["image:base changed steps"],
        artifacts: &["dockerfile image:base changed images/base/Dockerfile"],
        risks: &[],
        impact: &[("image:base", &["web", "lb"])],
        ..Case::EMPTY
    },
    // ── Managed services on their targets ───────────────────────────────
    Case {
        name: "bucket_versioning_is_an_update",
        before: r#"
import "bucket"
landscape app {
  bucket files { password = secret("app/files") }
}
"#,
        after: r#"
import "bucket"
landscape app {
  bucket files {
    password = secret("app/files")
    versioning = false
  }
}
"#,
        plan: &["files changed versioning"],
        artifacts: &[
            "cloudformation files update FilesBucket Properties.VersioningConfiguration.Status",
        ],
        risks: &[],
        ..Case::EMPTY
    },
    Case {
        name: "bucket_removed",
        before: r#"
import "bucket"
landscape app {
  bucket files { password = secret("app/files") }
  service web { image = "nginx:1.27.0" }
}
"#,
        after: r#"
landscape app {
  service web { image = "nginx:1.27.0" }
}
"#,
        plan: &["files removed -"],
        artifacts: &["cloudformation files delete FilesBucket -"],
        risks: &["data-loss files"],
        ..Case::EMPTY
    },
    Case {
        name: "search_instance_type_up",
        before: r#"
import "elasticsearch"
landscape app {
  elasticsearch search {}
}
"#,
        after: r#"
import "elasticsearch"
landscape app {
  elasticsearch search { instance_class = "m5.large.search" }
}
"#,
        plan: &["search changed instance_type"],
        artifacts: &[
            "cloudformation search update SearchDomain Properties.ClusterConfig.InstanceType",
        ],
        risks: &["cost search"],
        ..Case::EMPTY
    },
    Case {
        name: "broker_removed",
        before: r#"
import "rabbitmq"
landscape app {
  rabbitmq queue { password = secret("app/mq") }
  service worker {
    image = "ghcr.io/acme/worker:2.0.1"
    env { AMQP_HOST = queue.host }
  }
}
"#,
        after: r#"
landscape app {
  service worker {
    image = "ghcr.io/acme/worker:2.0.1"
  }
}
"#,
        plan: &[
            "queue removed -",
            "worker removed env.AMQP_HOST",
            "worker removed depends_on.queue",
        ],
        artifacts: &["cloudformation queue delete QueueBroker -"],
        risks: &["data-loss queue"],
        impact: &[("queue", &["worker"])],
        ..Case::EMPTY
    },
];
