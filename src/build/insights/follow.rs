//! Insights: which clients the report follows minute by minute — the busiest of `client-totals`
//! — and the `client-qps` follow-up that counts their minutes only, so its answer is minutes ×
//! [`FOLLOWED_CLIENTS`] clients, not minutes × every client of the cluster.

use std::collections::{BTreeMap, BTreeSet};

use crate::build::native::MIN_SERIES_CLIENTS;
use crate::decode::client::client_name;
use crate::insights::merge::sum_by;
use crate::insights::output::ResultSet;

/// Clients `client-qps` follows: as many as always keep a series in the native report.
pub const FOLLOWED_CLIENTS: usize = MIN_SERIES_CLIENTS;

/// Characters the follow-up's list of userAgents may take: StartQuery takes a query of at most
/// 10,000 characters, and the template and a `--stream-prefix` filter need the rest.
pub const USER_AGENT_LIST_CHARS: usize = 6000;

/// The username the templates give every node's user (`system:node:NAME`), so their rows do
/// not grow with the node count.
pub const NODE_USERS: &str = "system:node:";

/// A template row's username as the report shows it: the nodes' one row as their pattern.
#[must_use]
pub fn shown_user(username: &str) -> &str {
    if username == NODE_USERS {
        "system:node:*"
    } else {
        username
    }
}

/// The report's client of a template row's `user_agent` and `username` columns.
#[must_use]
pub fn client_of(user_agent: &str, username: &str) -> String {
    client_name(
        (!user_agent.is_empty()).then_some(user_agent),
        shown_user(username),
    )
}

/// The clients `client-qps` follows and the userAgents that select their requests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Followed {
    /// Busiest first.
    pub clients: Vec<String>,
    /// Every userAgent of those clients (`""` for requests without one), sorted.
    pub user_agents: Vec<String>,
}

impl Followed {
    /// Whether `client` is followed.
    #[must_use]
    pub fn has(&self, client: &str) -> bool {
        self.clients.iter().any(|c| c == client)
    }
}

/// A userAgent the follow-up can name as it is: no quote, backslash or control character
/// (a userAgent is the client's to choose; escaping in string literals is not documented).
fn plain(user_agent: &str) -> bool {
    !user_agent
        .chars()
        .any(|c| c == '"' || c == '\\' || c.is_control())
}

/// The busiest [`FOLLOWED_CLIENTS`] clients of `client-totals`' answers, in the clients
/// table's order (requests descending, then name). A client is passed over, not cut, when one
/// of its userAgents cannot be named or its list would pass [`USER_AGENT_LIST_CHARS`]: a
/// series of part of its requests would be wrong.
///
/// # Errors
/// Rows without `client-totals`' columns.
pub fn followed(totals: &[&ResultSet]) -> Result<Followed, String> {
    let rows = sum_by(totals, &["user_agent", "username"], &["requests"])?;
    let mut by_client: BTreeMap<String, (f64, BTreeSet<&str>)> = BTreeMap::new();
    for (k, v) in &rows {
        let e = by_client.entry(client_of(&k[0], &k[1])).or_default();
        e.0 += v[0];
        e.1.insert(&k[0]);
    }
    let mut ranked: Vec<(String, (f64, BTreeSet<&str>))> = by_client.into_iter().collect();
    ranked.sort_by(|(a, (x, _)), (b, (y, _))| y.total_cmp(x).then_with(|| a.cmp(b)));
    let mut out = Followed::default();
    let mut agents: BTreeSet<&str> = BTreeSet::new();
    let mut chars = 0;
    for (client, (_, uas)) in ranked {
        if out.clients.len() == FOLLOWED_CLIENTS {
            break;
        }
        // Each new name costs its quotes and the ", " before it.
        let cost: usize = uas
            .iter()
            .filter(|ua| !agents.contains(*ua))
            .map(|ua| ua.len() + 4)
            .sum();
        if !uas.iter().all(|ua| plain(ua)) || chars + cost > USER_AGENT_LIST_CHARS {
            continue;
        }
        chars += cost;
        agents.extend(uas);
        out.clients.push(client);
    }
    out.user_agents = agents.into_iter().map(str::to_owned).collect();
    Ok(out)
}

/// `client-qps`' rendered `body` counting only the requests of `user_agents` (documented
/// syntax only: `filter`, `coalesce`, `in` on a list of strings; `""` stands for no userAgent).
#[must_use]
pub fn follow_up(body: &str, user_agents: &[String]) -> String {
    let list: Vec<String> = user_agents.iter().map(|ua| format!("\"{ua}\"")).collect();
    format!(
        "filter coalesce(userAgent, \"\") in [{}]\n| {body}",
        list.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totals(rows: &[(&str, &str, u64)]) -> ResultSet {
        ResultSet {
            columns: vec!["user_agent".into(), "username".into(), "requests".into()],
            rows: rows
                .iter()
                .map(|(ua, user, n)| {
                    vec![
                        Some((*ua).into()),
                        Some((*user).into()),
                        Some(n.to_string()),
                    ]
                })
                .collect(),
        }
    }

    #[test]
    fn the_busiest_clients_are_followed_with_every_user_agent_of_theirs() {
        let ua = |p: &str, v: u32| format!("{p}/v1.{v}.0 (linux/amd64) kubernetes/abc1234");
        // 30 clients, client i with 100 + i requests over two versions of its userAgent, and
        // a kubelet whose node users are one row; sub-windows add before ranking.
        let mut rows: Vec<(String, String, u64)> = (0..30u64)
            .flat_map(|i| {
                let p = format!("op{i:02}");
                [
                    (ua(&p, 1), "alice".to_owned(), 50),
                    (ua(&p, 2), "alice".to_owned(), 50 + i),
                ]
            })
            .collect();
        rows.push((ua("kubelet", 1), NODE_USERS.to_owned(), 10_000));
        let (a, b) = rows.split_at(31);
        let view = |r: &[(String, String, u64)]| {
            totals(
                &r.iter()
                    .map(|(u, n, c)| (u.as_str(), n.as_str(), *c))
                    .collect::<Vec<_>>(),
            )
        };
        let f = followed(&[&view(a), &view(b)]).unwrap();
        let mut want = vec!["kubelet".to_owned()];
        want.extend((11..30).rev().map(|i| format!("op{i:02}")));
        assert_eq!(f.clients, want);
        assert_eq!(f.user_agents.len(), 1 + 19 * 2);
        assert!(f.user_agents.contains(&ua("op11", 1)) && !f.user_agents.contains(&ua("op10", 2)));
        assert!(f.has("kubelet") && !f.has("op10"));
    }

    #[test]
    fn a_client_whose_agents_cannot_be_named_or_do_not_fit_is_passed_over() {
        let long = "x".repeat(USER_AGENT_LIST_CHARS);
        let f = followed(&[&totals(&[
            ("evil\"] or true", "bob", 900),
            (&long, "carol", 800),
            ("", "dave", 700),
        ])])
        .unwrap();
        assert_eq!(f.clients, ["dave"]);
        assert_eq!(f.user_agents, [""]);
        let q = follow_up("stats count(*) as n", &f.user_agents);
        assert_eq!(
            q,
            "filter coalesce(userAgent, \"\") in [\"\"]\n| stats count(*) as n"
        );
    }
}
