//! Which images are a standard-library kind, and how the kind's parameters
//! read the compose environment: one table, a row per kind.

/// What the kind does when the compose file does not set a parameter's variable.
#[derive(Clone, Copy, Debug)]
pub enum Absent {
    /// The kind cannot say it: import a plain `service`.
    Fallback,
    /// Keep the kind's default and remove the variable it would set (`null`).
    Remove,
    /// Set the parameter to what the image does without the variable (the
    /// value of another variable, else a constant) and remove the variable.
    Like(&'static str, &'static str),
}

/// A kind parameter fed by an environment variable.
pub struct Param {
    pub name: &'static str,
    pub var: &'static str,
    pub secret: bool,
    pub absent: Absent,
}

/// A stdlib kind as the importer sees it.
pub struct Kind {
    pub name: &'static str,
    /// Image repositories (without tag) it is recognised by.
    pub repos: &'static [&'static str],
    /// The kind's image with `{v}` for its `version` parameter.
    pub image: &'static str,
    pub ports: &'static [(&'static str, u16)],
    /// The path of the kind's `data` volume.
    pub data: &'static str,
    pub params: &'static [Param],
    /// Variables the kind sets to a constant.
    pub env: &'static [(&'static str, &'static str)],
    /// Whether this bomc's standard library has the kind.
    pub available: bool,
    /// Whether the image's version is the managed service's engine version
    /// (not for DocumentDB, whose versions are not MongoDB's).
    pub versioned: bool,
}

const fn p(name: &'static str, var: &'static str, secret: bool, absent: Absent) -> Param {
    Param {
        name,
        var,
        secret,
        absent,
    }
}

pub const KINDS: &[Kind] = &[
    Kind {
        name: "mysql",
        repos: &["mysql", "library/mysql", "docker.io/library/mysql"],
        image: "mysql:{v}",
        ports: &[("mysql", 3306)],
        data: "/var/lib/mysql",
        params: &[
            p("database", "MYSQL_DATABASE", false, Absent::Fallback),
            p("user", "MYSQL_USER", false, Absent::Remove),
            p("password", "MYSQL_PASSWORD", true, Absent::Fallback),
        ],
        env: &[("MYSQL_RANDOM_ROOT_PASSWORD", "yes")],
        available: true,
        versioned: true,
    },
    Kind {
        name: "postgres",
        repos: &["postgres", "library/postgres", "docker.io/library/postgres"],
        image: "postgres:{v}-alpine",
        ports: &[("postgres", 5432)],
        data: "/var/lib/postgresql/data",
        params: &[
            // The image creates the database named like the user, `postgres` by default.
            p("user", "POSTGRES_USER", false, Absent::Like("", "postgres")),
            p(
                "database",
                "POSTGRES_DB",
                false,
                Absent::Like("POSTGRES_USER", "postgres"),
            ),
            p("password", "POSTGRES_PASSWORD", true, Absent::Fallback),
        ],
        env: &[("PGDATA", "/var/lib/postgresql/data/pgdata")],
        available: true,
        versioned: true,
    },
    Kind {
        name: "redis",
        repos: &["redis", "library/redis", "docker.io/library/redis"],
        image: "redis:{v}-alpine",
        ports: &[("redis", 6379)],
        data: "",
        params: &[],
        env: &[],
        available: true,
        versioned: true,
    },
    Kind {
        name: "rabbitmq",
        repos: &["rabbitmq", "library/rabbitmq", "docker.io/library/rabbitmq"],
        image: "rabbitmq:{v}-management-alpine",
        ports: &[("amqp", 5672), ("management", 15672)],
        data: "/var/lib/rabbitmq",
        params: &[
            p("user", "RABBITMQ_DEFAULT_USER", false, Absent::Remove),
            p("password", "RABBITMQ_DEFAULT_PASS", true, Absent::Fallback),
            p("vhost", "RABBITMQ_DEFAULT_VHOST", false, Absent::Remove),
        ],
        env: &[],
        available: true,
        versioned: true,
    },
    Kind {
        name: "elasticsearch",
        repos: &[
            "elasticsearch",
            "docker.elastic.co/elasticsearch/elasticsearch",
            "docker.elastic.co/elasticsearch/elasticsearch-oss",
        ],
        image: "docker.elastic.co/elasticsearch/elasticsearch-oss:{v}",
        ports: &[("http", 9200)],
        data: "/usr/share/elasticsearch/data",
        params: &[],
        env: &[],
        available: true,
        versioned: true,
    },
    Kind {
        name: "mongodb",
        repos: &["mongo", "library/mongo", "docker.io/library/mongo"],
        image: "mongo:{v}",
        ports: &[("mongodb", 27017)],
        data: "/data/db",
        params: &[
            p("user", "MONGO_INITDB_ROOT_USERNAME", false, Absent::Remove),
            p(
                "password",
                "MONGO_INITDB_ROOT_PASSWORD",
                true,
                Absent::Fallback,
            ),
        ],
        env: &[],
        available: true,
        versioned: false,
    },
    Kind {
        name: "mariadb",
        repos: &["mariadb", "library/mariadb", "docker.io/library/mariadb"],
        image: "mariadb:{v}",
        ports: &[("mariadb", 3306)],
        data: "/var/lib/mysql",
        params: &[
            p("database", "MARIADB_DATABASE", false, Absent::Fallback),
            p("user", "MARIADB_USER", false, Absent::Remove),
            p("password", "MARIADB_PASSWORD", true, Absent::Fallback),
        ],
        env: &[("MARIADB_RANDOM_ROOT_PASSWORD", "yes")],
        available: true,
        versioned: true,
    },
];

/// The repository and tag of an image reference (`repo[:tag][@digest]`).
pub fn split_image(image: &str) -> (&str, &str) {
    let without_digest = image.split('@').next().unwrap_or(image);
    let last_slash = without_digest.rfind('/').map(|i| i + 1).unwrap_or(0);
    match without_digest[last_slash..].rfind(':') {
        Some(i) => (
            &without_digest[..last_slash + i],
            &without_digest[last_slash + i + 1..],
        ),
        None => (without_digest, ""),
    }
}

/// The kind an image is, if this bomc has it.
pub fn kind_of(image: &str) -> Option<&'static Kind> {
    let (repo, _) = split_image(image);
    KINDS
        .iter()
        .find(|k| k.available && k.repos.contains(&repo))
}

/// The `version` parameter that makes the kind's image exactly `image`.
pub fn version_for(kind: &Kind, image: &str) -> Option<String> {
    if !kind.versioned {
        return None;
    }
    let (before, after) = kind.image.split_once("{v}")?;
    let v = image.strip_prefix(before)?.strip_suffix(after)?;
    let pinned = v.split('.').count() >= 3 && v.chars().all(|c| c.is_ascii_digit() || c == '.');
    pinned.then(|| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images() {
        assert_eq!(
            split_image("localhost:5000/a/b:1.2"),
            ("localhost:5000/a/b", "1.2")
        );
        assert_eq!(split_image("redis"), ("redis", ""));
        assert_eq!(kind_of("postgres:13").map(|k| k.name), Some("postgres"));
        assert!(kind_of("nginx").is_none());
        let pg = kind_of("postgres:16.9-alpine").unwrap();
        assert_eq!(
            version_for(pg, "postgres:16.9.1-alpine").as_deref(),
            Some("16.9.1")
        );
        assert_eq!(version_for(pg, "postgres:16.9"), None);
        let my = kind_of("mysql:8.0.43").unwrap();
        assert_eq!(version_for(my, "mysql:8.0.43").as_deref(), Some("8.0.43"));
        assert_eq!(version_for(my, "mysql:5.7"), None);
    }
}
