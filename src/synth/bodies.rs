//! Request and response bodies for `generate --bodies`: writes to built-in API groups logged at
//! RequestResponse level, as EKS' audit policy logs them — whole objects with labels, a
//! `kubectl.kubernetes.io/last-applied-configuration` annotation and managedFields, so most of
//! the log's bytes are bodies no table reads. Only ASCII, and nothing a JSON encoder would
//! escape differently, so a test can re-measure a body from its parsed value.

use std::fmt::Write as _;

use super::req::Req;
use super::rng::{Rng, uuid};

/// The `requestObject` and `responseObject` members (with their leading commas) of a successful
/// write, the object at `rv` afterwards (`rv - 1` before an update).
pub(super) fn members(r: &mut Rng, q: &Req, rv: u64) -> String {
    let kind = kind_of(q.resource);
    let api_version = if q.group.is_empty() {
        q.version.to_owned()
    } else {
        format!("{}/{}", q.group, q.version)
    };
    let obj = Object {
        kind,
        api_version: &api_version,
        name: &q.name,
        namespace: &q.ns,
        uid: uuid(r),
        containers: 1 + r.below(3),
        labels: 2 + r.below(4),
    };
    let request = match q.verb {
        "create" => obj.json(r, None, false),
        "update" => obj.json(r, Some(rv - 1), true),
        "patch" if q.sub == "status" => {
            r#"{"status":{"conditions":[{"type":"Ready","status":"True","lastTransitionTime":"2024-05-01T10:00:00Z"}]}}"#.to_owned()
        }
        "patch" => format!(
            r#"{{"metadata":{{"labels":{{"rollout":"r{}"}}}}}}"#,
            r.below(1000)
        ),
        _ => r#"{"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"Background"}"#
            .to_owned(),
    };
    let response = obj.json(r, Some(rv), true);
    format!(r#","requestObject":{request},"responseObject":{response}"#)
}

fn kind_of(resource: &str) -> &'static str {
    match resource {
        "pods" => "Pod",
        "configmaps" => "ConfigMap",
        "secrets" => "Secret",
        "leases" => "Lease",
        "events" => "Event",
        "deployments" => "Deployment",
        "replicasets" => "ReplicaSet",
        "endpointslices" => "EndpointSlice",
        "endpoints" => "Endpoints",
        "services" => "Service",
        "nodes" => "Node",
        "jobs" => "Job",
        "serviceaccounts" => "ServiceAccount",
        _ => "Object",
    }
}

struct Object<'a> {
    kind: &'static str,
    api_version: &'a str,
    name: &'a str,
    namespace: &'a str,
    uid: String,
    containers: u64,
    labels: u64,
}

impl Object<'_> {
    /// The object as JSON; with `stored`, as the API server returns it (uid, resourceVersion,
    /// managedFields, status).
    fn json(&self, r: &mut Rng, rv: Option<u64>, stored: bool) -> String {
        let mut s = String::with_capacity(4096);
        let _ = write!(
            s,
            r#"{{"kind":"{}","apiVersion":"{}","metadata":{{"name":"{}""#,
            self.kind, self.api_version, self.name
        );
        if !self.namespace.is_empty() {
            let _ = write!(s, r#","namespace":"{}""#, self.namespace);
        }
        if stored {
            let _ = write!(s, r#","uid":"{}""#, self.uid);
        }
        if let Some(rv) = rv {
            let _ = write!(s, r#","resourceVersion":"{rv}""#);
        }
        if stored {
            s.push_str(r#","generation":3,"creationTimestamp":"2024-05-01T09:12:44Z""#);
        }
        s.push_str(r#","labels":{"#);
        for i in 0..self.labels {
            let _ = write!(
                s,
                r#"{}"app.kubernetes.io/part-{i}":"{}-{}""#,
                if i == 0 { "" } else { "," },
                self.name.len(),
                r.below(10_000)
            );
        }
        s.push('}');
        if self.big() {
            let applied = self.spec().replace('"', "\\\"");
            let _ = write!(
                s,
                r#","annotations":{{"kubectl.kubernetes.io/last-applied-configuration":"{{\"apiVersion\":\"{}\",\"kind\":\"{}\",\"metadata\":{{\"name\":\"{}\"}},\"spec\":{applied}}}\n"}}"#,
                self.api_version, self.kind, self.name
            );
        }
        if stored {
            self.managed_fields(&mut s);
        }
        s.push('}');
        if self.big() {
            let _ = write!(s, r#","spec":{}"#, self.spec());
        } else {
            let _ = write!(
                s,
                r#","spec":{{"holderIdentity":"{}","leaseDurationSeconds":40,"renewTime":"2024-05-01T10:00:{:02}.{:06}Z"}}"#,
                self.name,
                r.below(60),
                r.below(1_000_000)
            );
        }
        if stored && self.big() {
            let _ = write!(
                s,
                r#","status":{{"phase":"Running","conditions":[{{"type":"Ready","status":"True","lastProbeTime":null,"lastTransitionTime":"2024-05-01T09:13:02Z"}},{{"type":"ContainersReady","status":"True","lastProbeTime":null,"lastTransitionTime":"2024-05-01T09:13:02Z"}}],"hostIP":"10.0.{}.{}","podIP":"10.1.{}.{}","startTime":"2024-05-01T09:12:44Z"}}"#,
                r.below(8),
                r.below(250),
                r.below(250),
                r.below(250)
            );
        }
        s.push('}');
        s
    }

    /// Leases, the commonest write, are small objects; the rest carry a pod-like spec.
    fn big(&self) -> bool {
        self.kind != "Lease"
    }

    fn spec(&self) -> String {
        let mut s = String::from(r#"{"containers":["#);
        for c in 0..self.containers {
            let _ = write!(
                s,
                r#"{}{{"name":"c{c}","image":"123456789012.dkr.ecr.us-east-1.amazonaws.com/{}:v1.{c}.7","ports":[{{"containerPort":{},"protocol":"TCP"}}],"env":[{{"name":"LOG_LEVEL","value":"info"}},{{"name":"REGION","value":"us-east-1"}}],"resources":{{"limits":{{"cpu":"500m","memory":"512Mi"}},"requests":{{"cpu":"100m","memory":"128Mi"}}}},"imagePullPolicy":"IfNotPresent"}}"#,
                if c == 0 { "" } else { "," },
                self.name,
                8080 + c
            );
        }
        s.push_str(r#"],"restartPolicy":"Always","terminationGracePeriodSeconds":30,"dnsPolicy":"ClusterFirst","serviceAccountName":"default","securityContext":{}}"#);
        s
    }

    fn managed_fields(&self, s: &mut String) {
        let _ = write!(
            s,
            r#","managedFields":[{{"manager":"kubectl-client-side-apply","operation":"Update","apiVersion":"{}","time":"2024-05-01T09:12:44Z","fieldsType":"FieldsV1","fieldsV1":{{"f:metadata":{{"f:annotations":{{".":{{}},"f:kubectl.kubernetes.io/last-applied-configuration":{{}}}},"f:labels":{{".":{{}}"#,
            self.api_version
        );
        for i in 0..self.labels {
            let _ = write!(s, r#","f:app.kubernetes.io/part-{i}":{{}}"#);
        }
        s.push_str(r#"}},"f:spec":{"#);
        for c in 0..self.containers {
            let _ = write!(
                s,
                r#"{}"k:{{\"name\":\"c{c}\"}}":{{".":{{}},"f:image":{{}},"f:imagePullPolicy":{{}},"f:name":{{}},"f:resources":{{".":{{}},"f:limits":{{".":{{}},"f:cpu":{{}},"f:memory":{{}}}}}}}}"#,
                if c == 0 { "" } else { "," }
            );
        }
        s.push_str(r#"}}},{"manager":"kubelet","operation":"Update","apiVersion":"v1","time":"2024-05-01T09:13:02Z","fieldsType":"FieldsV1","fieldsV1":{"f:status":{"f:conditions":{"k:{\"type\":\"Ready\"}":{".":{},"f:lastProbeTime":{},"f:lastTransitionTime":{},"f:status":{},"f:type":{}}},"f:hostIP":{},"f:phase":{},"f:podIP":{},"f:startTime":{}}},"subresource":"status"}]"#);
    }
}
