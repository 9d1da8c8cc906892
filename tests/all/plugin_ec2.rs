//! Tests of the `ec2` plugin against a real moto server with authentication switched on: moto
//! recomputes every request's SigV4 signature (with botocore) and checks the access key, so a
//! call that succeeds proves the component signs as AWS does. The test's own view of the
//! instances comes from boto3 (the AWS SDK moto ships with), not from the plugin.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tocsin::plugin::{ActionErrorKind, InstanceSpec, InvokeError, PluginSource};

use crate::helpers::*;

/// boto3 calls the tests make: `setup` creates an IAM user with an access key, switches
/// moto's authentication on and launches an instance; `state`, `stop` and `start` act on it.
const BOTO: &str = r#"
import json, sys, urllib.request
import boto3
cmd, endpoint = sys.argv[1], sys.argv[2]
def client(service, key, secret):
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id=key, aws_secret_access_key=secret)
if cmd == "setup":
    iam = client("iam", "bootstrap", "bootstrap")
    iam.create_user(UserName="tocsin")
    iam.put_user_policy(UserName="tocsin", PolicyName="ec2", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}]}))
    key = iam.create_access_key(UserName="tocsin")["AccessKey"]
    # From here on moto checks every request's access key and signature.
    urllib.request.urlopen(urllib.request.Request(endpoint + "/moto-api/reset-auth", data=b"0",
                                                  headers={"Content-Type": "text/plain"}, method="POST"))
    ec2 = client("ec2", key["AccessKeyId"], key["SecretAccessKey"])
    run = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, InstanceType="t3.micro",
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "checkout-1"}]}])
    print(json.dumps({"key": key["AccessKeyId"], "secret": key["SecretAccessKey"],
                      "instance": run["Instances"][0]["InstanceId"]}))
else:
    key, secret, instance = sys.argv[3:6]
    ec2 = client("ec2", key, secret)
    if cmd == "stop":
        ec2.stop_instances(InstanceIds=[instance])
    elif cmd == "start":
        ec2.start_instances(InstanceIds=[instance])
    found = ec2.describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]
    print(found["State"]["Name"])
"#;

/// A moto server on a free loopback port; killed on drop.
struct Moto {
    child: Child,
    base: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The IAM user's key and the instance `setup` launched.
#[derive(Clone)]
struct Account {
    key: String,
    secret: String,
    instance: String,
}

impl Moto {
    fn start() -> Moto {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(peer_bin().join("moto_server"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server from the test venv (`cargo xtask test` installs it)");
        let moto = Moto {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        let probe = format!("{}/moto-api/data.json", moto.base);
        while reqwest::blocking::get(&probe).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto_server did not answer on {probe}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    fn boto(&self, args: &[&str]) -> String {
        run_boto(&self.base, args)
    }

    fn setup(&self) -> Account {
        let v: Value = serde_json::from_str(&self.boto(&["setup"])).unwrap();
        let s = |k: &str| v[k].as_str().unwrap().to_owned();
        Account {
            key: s("key"),
            secret: s("secret"),
            instance: s("instance"),
        }
    }

    /// `cmd` (state, stop, start) through boto3; returns the instance's state afterwards.
    fn instance(&self, cmd: &str, account: &Account) -> String {
        self.boto(&[cmd, &account.key, &account.secret, &account.instance])
    }
}

fn run_boto(endpoint: &str, args: &[&str]) -> String {
    let out = Command::new(peer_bin().join("python"))
        .args(["-c", BOTO, args[0], endpoint])
        .args(&args[1..])
        .output()
        .expect("python from the test venv");
    assert!(
        out.status.success(),
        "boto3 {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Start moto and set it up off the async runtime (both block).
async fn moto_with_instance() -> (Moto, Account) {
    tokio::task::spawn_blocking(|| {
        let moto = Moto::start();
        let account = moto.setup();
        (moto, account)
    })
    .await
    .unwrap()
}

/// [`Moto::instance`] off the async runtime.
async fn boto(moto: &Moto, cmd: &'static str, account: &Account) -> String {
    let (base, a) = (moto.base.clone(), account.clone());
    tokio::task::spawn_blocking(move || run_boto(&base, &[cmd, &a.key, &a.secret, &a.instance]))
        .await
        .unwrap()
}

/// An `ec2` instance against `endpoint` with the given key.
fn ec2_spec(endpoint: &str, key: &str, secret: &str) -> InstanceSpec {
    let mut s = spec("ec2", PluginSource::Builtin("ec2".into()));
    s.config = json!({"region": "us-east-1", "endpoint_url": endpoint});
    s.grant.http = vec![endpoint.to_owned()];
    s.grant.secrets = vec!["AWS_ACCESS_KEY_ID".into(), "AWS_SECRET_ACCESS_KEY".into()];
    s.secret_values = vec![
        ("AWS_ACCESS_KEY_ID".into(), key.into()),
        ("AWS_SECRET_ACCESS_KEY".into(), secret.into()),
    ];
    s.limits = limits(60_000, 64);
    s
}

fn action_error(err: &InvokeError) -> (ActionErrorKind, &str, Option<Duration>) {
    match err {
        InvokeError::Action {
            kind,
            message,
            retry_after,
            ..
        } => (*kind, message.as_str(), *retry_after),
        other => panic!("expected an action error, got {other}"),
    }
}

#[tokio::test]
async fn stops_starts_reboots_waits_for_and_describes_an_instance_moto_launched() {
    let (moto, account) = moto_with_instance().await;
    let host = host_with(vec![ec2_spec(&moto.base, &account.key, &account.secret)]).await;
    let id = account.instance.as_str();

    let out = invoke(&host, "ec2", "describe", json!({"instance_ids": id}))
        .await
        .unwrap();
    let it = &out["instances"][0];
    assert_eq!(
        (it["instance_id"].as_str(), it["state"].as_str()),
        (Some(id), Some("running")),
        "{out}"
    );
    assert_eq!(it["instance_type"], "t3.micro");
    assert_eq!(it["tags"]["Name"], "checkout-1");
    assert_eq!(
        (it["instance_status"].as_str(), it["system_status"].as_str()),
        (Some("ok"), Some("ok"))
    );
    assert_eq!(
        (out["all_running"].as_bool(), out["all_status_ok"].as_bool()),
        (Some(true), Some(true))
    );

    let out = invoke(
        &host,
        "ec2",
        "stop",
        json!({"instance_ids": [id], "wait_until": "stopped", "poll_interval_ms": 200}),
    )
    .await
    .unwrap();
    assert_eq!(out["instances"][0]["previous_state"], "running", "{out}");
    assert_eq!(out["instances"][0]["current_state"], "stopped", "{out}");
    assert!(out["waited_ms"].is_u64(), "{out}");
    assert_eq!(
        boto(&moto, "state", &account).await,
        "stopped",
        "AWS's own view"
    );

    let out = invoke(&host, "ec2", "describe", json!({"instance_ids": id}))
        .await
        .unwrap();
    assert_eq!(out["instances"][0]["state"], "stopped");
    assert!(
        out["instances"][0]["state_reason"]
            .as_str()
            .unwrap_or("")
            .contains("User initiated"),
        "{out}"
    );
    assert_eq!(out["all_running"], false);

    let out = invoke(
        &host,
        "ec2",
        "wait",
        json!({"instance_ids": id, "state": "stopped"}),
    )
    .await
    .unwrap();
    assert_eq!(
        (out["polls"].as_u64(), out["instances"][0]["state"].as_str()),
        (Some(1), Some("stopped"))
    );

    // The ARN form an incident's INVOLVED_RESOURCES carries works as well as the id.
    let arn = format!("arn:aws:ec2:us-east-1:123456789012:instance/{id}");
    let out = invoke(
        &host,
        "ec2",
        "start",
        json!({"instance_ids": [arn], "wait_until": "status-ok", "poll_interval_ms": 200}),
    )
    .await
    .unwrap();
    assert_eq!(out["instances"][0]["instance_id"], id);
    assert_eq!(out["instances"][0]["previous_state"], "stopped", "{out}");
    assert_eq!(out["instances"][0]["current_state"], "running", "{out}");
    assert_eq!(boto(&moto, "state", &account).await, "running");

    let out = invoke(
        &host,
        "ec2",
        "reboot",
        json!({"instance_ids": id, "wait_until": "running"}),
    )
    .await
    .unwrap();
    assert_eq!(out["instances"][0]["current_state"], "running", "{out}");
    assert_eq!(out["instances"][0]["previous_state"], Value::Null);

    // An instance EC2 does not know: not retryable, with EC2's code and message.
    let err = invoke(
        &host,
        "ec2",
        "stop",
        json!({"instance_ids": "i-0123456789abcdef0"}),
    )
    .await
    .unwrap_err();
    let (kind, message, _) = action_error(&err);
    assert_eq!(kind, ActionErrorKind::InvalidInput, "{err}");
    assert!(message.contains("InvalidInstanceID.NotFound"), "{message}");
    assert!(message.contains("i-0123456789abcdef0"), "{message}");
}

#[tokio::test]
async fn wait_sees_a_change_made_elsewhere_and_gives_up_at_its_timeout_retryably() {
    let (moto, account) = moto_with_instance().await;
    let host = host_with(vec![ec2_spec(&moto.base, &account.key, &account.secret)]).await;
    let id = account.instance.as_str();

    // Nobody stops it: the wait polls until its own timeout, then says where the instance is.
    let err = invoke(
        &host,
        "ec2",
        "wait",
        json!({"instance_ids": id, "state": "stopped", "timeout_seconds": 2, "poll_interval_ms": 100}),
    )
    .await
    .unwrap_err();
    let (kind, message, _) = action_error(&err);
    assert_eq!(kind, ActionErrorKind::Retryable, "{err}");
    assert!(message.contains(&format!("{id} is running")), "{message}");
    let polls: u32 = message
        .split(" polls")
        .next()
        .and_then(|m| m.rsplit('(').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("poll count in {message}"));
    assert!(polls > 1, "it polled repeatedly: {message}");

    // Someone else stops it while the plugin waits.
    let waiting = invoke(
        &host,
        "ec2",
        "wait",
        json!({"instance_ids": id, "state": "stopped", "poll_interval_ms": 100}),
    );
    let (out, state) = tokio::join!(waiting, boto(&moto, "stop", &account));
    assert_eq!(state, "stopped");
    let out = out.unwrap();
    assert_eq!(out["instances"][0]["state"], "stopped", "{out}");
}

#[tokio::test]
async fn bad_credentials_are_a_permanent_error_with_awss_message() {
    let (moto, account) = moto_with_instance().await;
    let wrong_secret = ec2_spec(&moto.base, &account.key, "not-the-secret");
    let mut unknown_key = ec2_spec(&moto.base, "AKIAIOSFODNN7EXAMPLE", &account.secret);
    unknown_key.name = "ec2-unknown".into();
    let host = host_with(vec![wrong_secret, unknown_key]).await;
    for instance in ["ec2", "ec2-unknown"] {
        let err = invoke(
            &host,
            instance,
            "reboot",
            json!({"instance_ids": account.instance}),
        )
        .await
        .unwrap_err();
        let (kind, message, _) = action_error(&err);
        assert_eq!(kind, ActionErrorKind::Failed, "{err}");
        assert!(
            message.contains(
                "AuthFailure: AWS was not able to validate the provided access credentials"
            ),
            "{message}"
        );
        assert!(!message.contains(&account.secret), "{message}");
    }
    assert_eq!(boto(&moto, "state", &account).await, "running");
}

#[tokio::test]
async fn a_missing_secret_or_origin_grant_is_denied_naming_what_to_grant() {
    let mut no_secrets = spec("ec2", PluginSource::Builtin("ec2".into()));
    no_secrets.config = json!({"region": "us-east-1", "endpoint_url": "http://127.0.0.1:9"});
    no_secrets.grant.http = vec!["http://127.0.0.1:9".into()];
    let mut no_origin = ec2_spec("http://127.0.0.1:9", "AKIAIOSFODNN7EXAMPLE", "secret");
    no_origin.name = "ec2-no-origin".into();
    no_origin.grant.http = vec!["https://ec2.us-east-1.amazonaws.com".into()];
    let host = host_with(vec![no_secrets, no_origin]).await;
    let input = json!({"instance_ids": "i-0123456789abcdef0"});

    let err = invoke(&host, "ec2", "describe", input.clone())
        .await
        .unwrap_err();
    let InvokeError::Denied { message, .. } = &err else {
        panic!("{err}")
    };
    assert!(
        message.contains("AWS_ACCESS_KEY_ID") && message.contains("secrets:"),
        "{message}"
    );

    let err = invoke(&host, "ec2-no-origin", "describe", input)
        .await
        .unwrap_err();
    let InvokeError::Denied { message, .. } = &err else {
        panic!("{err}")
    };
    assert!(
        message.contains("http://127.0.0.1:9") && message.contains("allow.http"),
        "{message}"
    );
}

/// EC2's error document (its Query API's shape, as the EC2 API reference documents it).
fn ec2_error(code: &str, message: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>ea966190-f9aa-478e-9ede-example</RequestID></Response>"
    )
}

#[tokio::test]
async fn requests_follow_the_query_contract_and_throttling_5xx_and_4xx_map_as_aws_documents() {
    // The instance id chooses the answer.
    let (addr, seen) = recording_peer(|req| match req.body.split("InstanceId.1=").nth(1) {
        Some("i-0000000000000000a") => (
            429,
            vec![("retry-after", "7".into())],
            ec2_error("RequestLimitExceeded", "Request limit exceeded."),
        ),
        Some("i-0000000000000000b") => (
            503,
            vec![],
            ec2_error("Unavailable", "The server is overloaded and can't handle the request."),
        ),
        Some("i-0000000000000000c") => (
            400,
            vec![],
            ec2_error(
                "IncorrectInstanceState",
                "The instance 'i-0000000000000000c' is not in a state from which it can be rebooted.",
            ),
        ),
        _ => (
            200,
            vec![("content-type", "text/xml;charset=UTF-8".into())],
            "<RebootInstancesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>59dbff89-35bd-4eac-99ed-be587EXAMPLE</requestId><return>true</return></RebootInstancesResponse>".into(),
        ),
    })
    .await;
    let base = format!("http://127.0.0.1:{}", addr.port());
    // A temporary (STS) key: its session token is sent and signed.
    let mut s = ec2_spec(
        &base,
        "ASIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    );
    s.grant.secrets.push("AWS_SESSION_TOKEN".into());
    s.secret_values.push((
        "AWS_SESSION_TOKEN".into(),
        "FwoGZXIvYXdzEXAMPLETOKEN".into(),
    ));
    let host = host_with(vec![s]).await;

    let ids = json!({"instance_ids": ["i-0123456789abcdef0", "i-0fedcba9876543210"]});
    invoke(&host, "ec2", "reboot", ids).await.unwrap();
    {
        let seen = seen.lock().unwrap();
        let req = &seen[0];
        assert_eq!((req.method.as_str(), req.uri.as_str()), ("POST", "/"));
        assert_eq!(
            req.header("content-type"),
            Some("application/x-www-form-urlencoded; charset=utf-8")
        );
        assert_eq!(
            req.body,
            "Action=RebootInstances&Version=2016-11-15&InstanceId.1=i-0123456789abcdef0&InstanceId.2=i-0fedcba9876543210"
        );
        let auth = req.header("authorization").unwrap();
        let date = req.header("x-amz-date").unwrap();
        assert!(
            auth.starts_with(&format!(
                "AWS4-HMAC-SHA256 Credential=ASIAIOSFODNN7EXAMPLE/{}/us-east-1/ec2/aws4_request, SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature="
            , &date[..8])),
            "{auth}"
        );
        assert_eq!(
            req.header("x-amz-security-token"),
            Some("FwoGZXIvYXdzEXAMPLETOKEN")
        );
        assert!(
            !auth.contains("wJalrXUtnFEMI"),
            "the secret key never travels"
        );
    }

    let reboot = |id: &str| json!({"instance_ids": id});
    let err = invoke(&host, "ec2", "reboot", reboot("i-0000000000000000a"))
        .await
        .unwrap_err();
    let (kind, message, after) = action_error(&err);
    assert_eq!(
        (kind, after),
        (ActionErrorKind::Retryable, Some(Duration::from_secs(7))),
        "{err}"
    );
    assert!(
        message.contains("RequestLimitExceeded: Request limit exceeded."),
        "{message}"
    );

    let err = invoke(&host, "ec2", "reboot", reboot("i-0000000000000000b"))
        .await
        .unwrap_err();
    let (kind, message, after) = action_error(&err);
    assert_eq!((kind, after), (ActionErrorKind::Retryable, None), "{err}");
    assert!(
        message.contains("HTTP 503") && message.contains("Unavailable"),
        "{message}"
    );

    let err = invoke(&host, "ec2", "reboot", reboot("i-0000000000000000c"))
        .await
        .unwrap_err();
    let (kind, message, _) = action_error(&err);
    assert_eq!(kind, ActionErrorKind::InvalidInput, "{err}");
    assert!(
        message.contains("IncorrectInstanceState: The instance 'i-0000000000000000c' is not in a state from which it can be rebooted."),
        "{message}"
    );
}

/// The InstanceId dimension of the CloudWatch alarm in the SNS notification fixture.
fn alarm_instance_dimension(notification: &Value) -> String {
    let alarm: Value = serde_json::from_str(notification["Message"].as_str().unwrap()).unwrap();
    alarm["Trigger"]["Dimensions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "InstanceId")
        .and_then(|d| d["value"].as_str())
        .unwrap()
        .to_owned()
}

fn tocsin(args: &[&str], dir: &std::path::Path, account: &Account) -> (bool, String) {
    let out = Command::new(tocsin_bin())
        .args(args)
        .arg("--local")
        .arg("--data-dir")
        .arg(dir.join("data"))
        .arg("--config")
        .arg(dir.join("config"))
        .env("TOCSIN_LOG", "warn")
        .env("TOCSIN_SECRET_AWS_ACCESS_KEY_ID", &account.key)
        .env("TOCSIN_SECRET_AWS_SECRET_ACCESS_KEY", &account.secret)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// The seed tutorial: a CloudWatch alarm on an instance fires; the response plan runs
/// `restart-instance-behind-alarm` with the incident's INVOLVED_RESOURCES. Here the alarm is the
/// documented SNS notification fixture, aimed at the instance moto launched (the fixture's
/// dimension is AWS's placeholder `TestInstance`); the runbook file is the repository's.
#[test]
fn the_restart_runbook_restarts_the_instance_behind_the_cloudwatch_alarm() {
    let moto = Moto::start();
    let account = moto.setup();
    let fixture = std::fs::read_to_string(
        workspace().join("tests/fixtures/alerts/cloudwatch-alarm-via-sns-http-single-metric.json"),
    )
    .unwrap();
    assert_eq!(
        alarm_instance_dimension(&serde_json::from_str(&fixture).unwrap()),
        "TestInstance"
    );
    let notification: Value =
        serde_json::from_str(&fixture.replace("TestInstance", &account.instance)).unwrap();
    let instance = alarm_instance_dimension(&notification);
    assert_eq!(instance, account.instance);
    // INVOLVED_RESOURCES as a response plan gives them: ARNs, the alarm's among them.
    let topic: Vec<&str> = notification["TopicArn"]
        .as_str()
        .unwrap()
        .split(':')
        .collect();
    let (region, account_id) = (topic[3], topic[4]);
    let resources = json!([
        format!("arn:aws:cloudwatch:{region}:{account_id}:alarm:EXAMPLE"),
        format!("arn:aws:ec2:{region}:{account_id}:instance/{instance}"),
    ]);

    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("config")).unwrap();
    std::fs::write(
        dir.path().join("config/ec2.yaml"),
        format!(
            "kind: Plugin\nname: ec2\nplugin: ec2\nconfig: {{ region: {region}, endpoint_url: '{0}' }}\nsecrets: [AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY]\nallow: {{ http: ['{0}'] }}\nlimits: {{ timeout_ms: 60000 }}\n",
            moto.base
        ),
    )
    .unwrap();
    let runbook = workspace().join("runbooks/restart-instance-behind-alarm.yaml");
    let runbook = runbook.to_str().unwrap();
    let param = format!("InvolvedResources={resources}");

    // Running instance: the default method reboots it, then verifies its status checks.
    let (ok, text) = tocsin(&["run", runbook, "-p", &param], dir.path(), &account);
    assert!(ok, "{text}");
    let steps = executed_steps(dir.path(), &account, &text);
    assert_eq!(
        steps,
        [
            "Before",
            "ChooseRestart",
            "Reboot",
            "VerifyRunning",
            "Recovered"
        ],
        "{text}"
    );
    assert_eq!(moto.instance("state", &account), "running");

    // Stop-and-start (moves the instance to other hardware).
    let (ok, text) = tocsin(
        &["run", runbook, "-p", &param, "-p", "Method=stop-start"],
        dir.path(),
        &account,
    );
    assert!(ok, "{text}");
    let steps = executed_steps(dir.path(), &account, &text);
    assert_eq!(
        steps,
        [
            "Before",
            "ChooseRestart",
            "Stop",
            "Start",
            "VerifyRunning",
            "Recovered"
        ],
        "{text}"
    );
    assert_eq!(moto.instance("state", &account), "running");

    // An instance the alarm caught stopped is started, not rebooted.
    assert_eq!(moto.instance("stop", &account), "stopped");
    let (ok, text) = tocsin(&["run", runbook, "-p", &param], dir.path(), &account);
    assert!(ok, "{text}");
    let steps = executed_steps(dir.path(), &account, &text);
    assert_eq!(
        steps,
        [
            "Before",
            "ChooseRestart",
            "Start",
            "VerifyRunning",
            "Recovered"
        ],
        "{text}"
    );
    assert_eq!(moto.instance("state", &account), "running");
}

/// The steps the execution `tocsin run` printed ran, in order, read back with `exec show`; each
/// must have succeeded.
fn executed_steps(dir: &std::path::Path, account: &Account, run_output: &str) -> Vec<String> {
    let id = run_output
        .lines()
        .find_map(|l| l.strip_prefix("execution "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no execution id in {run_output}"));
    let (ok, text) = tocsin(&["exec", "show", id, "--format", "json"], dir, account);
    assert!(ok, "{text}");
    let json_start = text.find('{').unwrap();
    let v: Value = serde_json::Deserializer::from_str(&text[json_start..])
        .into_iter()
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(v["status"], "Success", "{v}");
    v["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            assert_eq!(s["status"], "Success", "{s}");
            s["name"].as_str().unwrap().to_owned()
        })
        .collect()
}
