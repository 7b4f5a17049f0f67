//! CORS for HTTP apps (reference §6.5): the effective policy of one app, computed when the
//! app is registered, and the headers it adds to each of its responses.

use super::request::Response;
use super::settings::{CorsDefaults, CorsSpec};

/// The CORS policy of one registered app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cors {
    methods: String,
    headers: String,
    credentials: bool,
    max_age: u64,
    /// `None`: any origin (echoed, or `*` without an Origin header).
    origins: Option<Vec<String>>,
}

impl Cors {
    /// The policy for an app, or `None` when CORS is off for it. `spec` is the override
    /// entry if present, else the app's own table; `routed` are the app's route methods.
    pub fn for_app<'a>(
        defaults: &CorsDefaults,
        spec: Option<&CorsSpec>,
        routed: impl IntoIterator<Item = &'a str>,
    ) -> Option<Cors> {
        let (credentials, headers, origins) = match spec {
            None if !defaults.enabled_by_default => return None,
            Some(s) if s.enabled == Some(false) => return None,
            Some(s) if s.enabled == Some(true) => {
                let mut headers = defaults.headers.clone();
                for (name, on) in &s.headers {
                    headers.retain(|h| !h.eq_ignore_ascii_case(name));
                    if *on {
                        headers.push(name.clone());
                    }
                }
                let origins = s.origins.clone().or_else(|| defaults.origins.clone());
                (
                    s.credentials.unwrap_or(defaults.credentials),
                    headers,
                    origins,
                )
            }
            _ => (
                defaults.credentials,
                defaults.headers.clone(),
                defaults.origins.clone(),
            ),
        };
        let mut methods = defaults.methods.clone();
        for m in routed {
            if !methods.iter().any(|have| have == m) {
                methods.push(m.to_owned());
            }
        }
        let origins = origins.filter(|list| !list.iter().any(|o| o == "*"));
        Some(Cors {
            methods: methods.join(", "),
            headers: headers.join(", "),
            credentials,
            max_age: defaults.max_age,
            origins,
        })
    }

    /// Adds the CORS headers for a request with `origin`; a listed-origins policy adds
    /// nothing for other origins (the request is still served).
    pub fn apply(&self, origin: Option<&str>, response: &mut Response) {
        if let Some(list) = &self.origins {
            match origin {
                Some(o) if list.iter().any(|allowed| allowed == o) => {}
                _ => return,
            }
        }
        response.set_header("Access-Control-Allow-Methods", self.methods.as_str());
        response.set_header("Access-Control-Allow-Headers", self.headers.as_str());
        response.set_header("Access-Control-Max-Age", self.max_age.to_string());
        response.set_header("Access-Control-Allow-Origin", origin.unwrap_or("*"));
        if self.credentials {
            response.set_header("Access-Control-Allow-Credentials", "true");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn applied(cors: &Cors, origin: Option<&str>) -> Response {
        let mut r = Response::new(200);
        cors.apply(origin, &mut r);
        r
    }

    #[test]
    fn defaults_echo_origin_and_list_routed_methods() {
        let cors = Cors::for_app(&CorsDefaults::default(), None, ["GET", "POST"]).expect("on");
        let r = applied(&cors, Some("https://a.example"));
        assert_eq!(
            r.header("Access-Control-Allow-Origin"),
            Some("https://a.example")
        );
        assert_eq!(
            r.header("Access-Control-Allow-Methods"),
            Some("GET, OPTIONS, POST")
        );
        assert_eq!(
            r.header("Access-Control-Allow-Headers"),
            Some("Content-Type")
        );
        assert_eq!(r.header("Access-Control-Max-Age"), Some("7200"));
        assert_eq!(r.header("Access-Control-Allow-Credentials"), None);
        assert_eq!(
            applied(&cors, None).header("Access-Control-Allow-Origin"),
            Some("*")
        );
    }

    #[test]
    fn enabled_false_turns_cors_off() {
        let spec = CorsSpec {
            enabled: Some(false),
            ..CorsSpec::default()
        };
        assert_eq!(
            Cors::for_app(&CorsDefaults::default(), Some(&spec), ["GET"]),
            None
        );
    }

    #[test]
    fn fields_apply_only_with_enabled_true() {
        let mut spec = CorsSpec {
            enabled: None,
            credentials: Some(true),
            headers: vec![("X-Token".into(), true), ("Content-Type".into(), false)],
            origins: Some(vec!["https://ok.example".into()]),
        };
        let ignored = Cors::for_app(&CorsDefaults::default(), Some(&spec), ["GET"]).expect("on");
        let r = applied(&ignored, Some("https://other.example"));
        assert_eq!(
            r.header("Access-Control-Allow-Origin"),
            Some("https://other.example")
        );
        assert_eq!(r.header("Access-Control-Allow-Credentials"), None);

        spec.enabled = Some(true);
        let used = Cors::for_app(&CorsDefaults::default(), Some(&spec), ["GET"]).expect("on");
        assert!(applied(&used, Some("https://other.example"))
            .headers
            .is_empty());
        assert!(applied(&used, None).headers.is_empty());
        let r = applied(&used, Some("https://ok.example"));
        assert_eq!(r.header("Access-Control-Allow-Credentials"), Some("true"));
        assert_eq!(r.header("Access-Control-Allow-Headers"), Some("X-Token"));
    }

    #[test]
    fn star_in_origins_allows_any() {
        let spec = CorsSpec {
            origins: Some(vec!["*".into()]),
            ..CorsSpec::enabled()
        };
        let cors = Cors::for_app(&CorsDefaults::default(), Some(&spec), ["GET"]).expect("on");
        assert_eq!(
            applied(&cors, Some("https://x.example")).header("Access-Control-Allow-Origin"),
            Some("https://x.example")
        );
    }

    #[test]
    fn default_disabled_leaves_apps_without_table_bare() {
        let defaults = CorsDefaults {
            enabled_by_default: false,
            ..CorsDefaults::default()
        };
        assert_eq!(Cors::for_app(&defaults, None, ["GET"]), None);
        assert!(Cors::for_app(&defaults, Some(&CorsSpec::enabled()), ["GET"]).is_some());
    }
}
