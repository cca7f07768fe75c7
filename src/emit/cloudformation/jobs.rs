//! One-off jobs run during the deployment, before what depends on them.
//!
//! Each job (`run = "once"`: migrations, fixtures) gets a custom resource,
//! `<Job>Run` (`Custom::RunJob`), whose function starts the job's task on
//! Fargate (`ecs:RunTask`, in the private subnets, with the job's security
//! group) and waits until it stops. Exit code 0 answers `SUCCESS`; anything
//! else — a non-zero exit, a task that cannot start or pull its image, the
//! plan's timeout — answers `FAILED` with the reason and where its logs are,
//! which fails the deployment (and rolls it back). The services that depend
//! on the job have `DependsOn: <Job>Run`, so CloudFormation creates or updates
//! them only after it succeeded: on compose the same dependency is
//! `service_completed_successfully` — both come from the plan's
//! `Wait::Completed`.
//!
//! **When it runs.** CloudFormation sends the custom resource `Create` on the
//! first deployment and `Update` whenever its properties change, which they
//! do when the job's task definition does (a new image tag, command or
//! variable): migrations run whenever the code they belong to changes. An
//! `Update` sent while the stack rolls back runs nothing (the function reads
//! the stack's status), and `Delete` runs nothing.
//!
//! **Waiting longer than a Lambda.** A function runs at most 15 minutes; the
//! runner polls until a minute is left, then invokes itself asynchronously
//! with the same request and the task's ARN and goes on waiting, up to the
//! plan's timeout, within the custom resource's `ServiceTimeout` (at most an
//! hour). A task still running at the timeout is left running (stopping a
//! migration half-way is worse) and named in the failure.
//!
//! Each job has its own runner (`<Job>RunFunction`), whose role may run
//! exactly that task definition in this cluster, pass exactly its roles to
//! ECS, read tasks in this cluster, describe this stack, invoke itself (by its
//! name, `bomc-<stack uuid>-<job>`, known before it exists) and write its own
//! log group.

use super::cat;
use super::{Template, add_function_log_group, skips};
use crate::emit::json::Json;
use crate::emit::json::json;
use crate::lower::plan::Workload;

pub(crate) const RUN_TYPE: &str = "Custom::RunJob";

/// The runner. Kept under the 4,096 characters of an inline `ZipFile`.
const RUNNER_CODE: &str = r#"import json
import time
import urllib.request

import boto3

ecs = boto3.client("ecs")


def answer(event, context, status, reason, pid):
    body = json.dumps({
        "Status": status,
        "Reason": reason[:900] + " (runner log stream " + context.log_stream_name + ")",
        "PhysicalResourceId": pid,
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
    }).encode()
    request = urllib.request.Request(event["ResponseURL"], data=body, method="PUT", headers={"Content-Type": ""})
    urllib.request.urlopen(request, timeout=60)


def rolling_back(event):
    stack = boto3.client("cloudformation").describe_stacks(StackName=event["StackId"])["Stacks"][0]
    return "ROLLBACK" in stack["StackStatus"]


def handler(event, context):
    p = event["ResourceProperties"]
    pid = event.get("PhysicalResourceId") or event["LogicalResourceId"]
    name = p["Container"]
    try:
        kind = event["RequestType"]
        if kind == "Delete" or (kind == "Update" and "BomcTask" not in event and rolling_back(event)):
            answer(event, context, "SUCCESS", f"{name}: nothing to run", pid)
            return
        task = event.get("BomcTask")
        if not task:
            started = ecs.run_task(
                cluster=p["Cluster"],
                taskDefinition=p["TaskDefinition"],
                launchType="FARGATE",
                count=1,
                startedBy="cloudformation",
                propagateTags="TASK_DEFINITION",
                networkConfiguration={"awsvpcConfiguration": {
                    "subnets": p["Subnets"],
                    "securityGroups": p["SecurityGroups"],
                    "assignPublicIp": "DISABLED",
                }},
            )
            if started.get("failures") or not started.get("tasks"):
                raise RuntimeError(f"the task did not start: {started.get('failures')}")
            task = started["tasks"][0]["taskArn"]
            event["BomcTask"] = task
            event["BomcDeadline"] = time.time() + int(p["TimeoutSeconds"])
            print(f"{name}: started {task}")
        logs = f"logs: group {p['LogGroup']}, stream {name}/{name}/{task.rsplit('/', 1)[-1]}"
        while context.get_remaining_time_in_millis() > 60000:
            t = ecs.describe_tasks(cluster=p["Cluster"], tasks=[task])["tasks"][0]
            if t["lastStatus"] == "STOPPED":
                c = next(c for c in t["containers"] if c["name"] == name)
                code = c.get("exitCode")
                if code == 0:
                    answer(event, context, "SUCCESS", f"{name} exited 0 ({logs})", pid)
                    return
                why = c.get("reason") or t.get("stoppedReason", "")
                raise RuntimeError(f"exited {code}: {why} ({logs})")
            if time.time() > event["BomcDeadline"]:
                raise RuntimeError(f"still running after {p['TimeoutSeconds']} s, left running: {task} ({logs})")
            time.sleep(10)
        boto3.client("lambda").invoke(
            FunctionName=context.invoked_function_arn,
            InvocationType="Event",
            Payload=json.dumps(event).encode(),
        )
        print(f"{name}: still running, waiting in a new invocation")
    except Exception as e:
        print(f"{name}: {e!r}")
        answer(event, context, "FAILED", f"{name}: {e}", pid)
"#;

/// `bomc-<uuid of the stack id>-<job>`: unique, and known to the role
/// before the function exists (at most 64 characters).
fn function_name(w: &Workload) -> Json {
    let job = crate::lower::dns_label(&w.name, 22);
    json!({"Fn::Join": ["-", ["bomc", {"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]}, job]]})
}

fn arn(rest: &str) -> Json {
    json!({"Fn::Sub": format!("arn:${{AWS::Partition}}:{rest}")})
}

/// For each job: its runner (function, role, log group) and the `<Job>Run`
/// custom resource. A runner per job keeps each with its job when a large
/// template is split into nested stacks (a shared one would refer to task
/// definitions in stacks that refer back to it), and lets it run only that job.
pub(crate) fn jobs(t: &mut Template, jobs: &[&Workload]) {
    for w in jobs {
        job(t, w);
    }
}

fn job(t: &mut Template, w: &Workload) {
    let (cluster, cluster_arn, cluster_name) = match &t.plan.instance.shared.cluster {
        Some(name) => (
            json!(name),
            json!({"Fn::Sub": format!("arn:${{AWS::Partition}}:ecs:${{AWS::Region}}:${{AWS::AccountId}}:cluster/{name}")}),
            json!(name),
        ),
        None => (
            json!({"Ref": "Cluster"}),
            json!({"Fn::GetAtt": ["Cluster", "Arn"]}),
            json!({"Ref": "Cluster"}),
        ),
    };
    let subnets = t.private_subnets();
    let id = w.id.clone();
    let function = cat(&[&id, "RunFunction"]);
    let role = cat(&[&id, "RunRole"]);
    let logs = cat(&[&id, "RunLogs"]);
    // Its task definition, and the roles its task runs with (`ecs.rs`).
    let Some((execution_role, task_role)) =
        t.resources.get(&cat(&[&id, "TaskDefinition"])).map(|d| {
            (
                d["Properties"]["ExecutionRoleArn"].clone(),
                d["Properties"]["TaskRoleArn"].clone(),
            )
        })
    else {
        return;
    };
    let task_definition = json!({"Ref": cat(&[&id, "TaskDefinition"])});
    let mut roles = vec![execution_role];
    if !roles.contains(&task_role) {
        roles.push(task_role);
    }
    let tasks = json!({"Fn::Join": ["", [arn("ecs:${AWS::Region}:${AWS::AccountId}:task/"), cluster_name, "/*"]]});
    let days = if t.ephemeral() { 7 } else { 90 };
    add_function_log_group(t, logs.clone(), days);
    let tags = t.tags();
    t.add(
        role.clone(),
        json!({
            "Type": "AWS::IAM::Role",
            "Properties": {
                "Description": format!("Lets the runner of `{}` start its task during deployments, wait for it, and report", w.name),
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]
                },
                "Policies": [{
                    "PolicyName": "run-this-job",
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {"Sid": "RunTheJob", "Effect": "Allow", "Action": "ecs:RunTask", "Resource": [&task_definition], "Condition": {"ArnEquals": {"ecs:cluster": cluster_arn}}},
                            {"Sid": "TagItsTask", "Effect": "Allow", "Action": "ecs:TagResource", "Resource": &tasks,
                             "Condition": {"StringEquals": {"ecs:CreateAction": "RunTask"}}},
                            {"Sid": "WatchItsTask", "Effect": "Allow", "Action": "ecs:DescribeTasks", "Resource": &tasks},
                            {"Sid": "PassItsRoles", "Effect": "Allow", "Action": "iam:PassRole", "Resource": roles,
                             "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}},
                            {"Sid": "SeeRollbacks", "Effect": "Allow", "Action": "cloudformation:DescribeStacks", "Resource": {"Ref": "AWS::StackId"}},
                            {"Sid": "WaitLongerThanOneInvocation", "Effect": "Allow", "Action": "lambda:InvokeFunction",
                             "Resource": {"Fn::Join": ["", [arn("lambda:${AWS::Region}:${AWS::AccountId}:function:"), function_name(w)]]}},
                            {"Sid": "OwnLogs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": {"Fn::GetAtt": [&logs, "Arn"]}}
                        ]
                    }
                }],
                "Tags": tags,
            }
        }),
    );
    let tags = t.tags();
    t.add(
        function.clone(),
        json!({
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "FunctionName": function_name(w),
                "Description": format!("Runs `{}` to completion during deployments, before what depends on it", w.name),
                "Runtime": "python3.12",
                "Handler": "index.handler",
                "Timeout": 900,
                "MemorySize": 256,
                "Role": {"Fn::GetAtt": [role, "Arn"]},
                "LoggingConfig": {"LogGroup": {"Ref": logs}},
                "Code": {"ZipFile": RUNNER_CODE},
                "Tags": tags,
            },
            "Metadata": skips(&[
                ("CKV_AWS_115", "runs only when CloudFormation deploys the job; reserving concurrency would take it from the account's pool for nothing"),
                ("CKV_AWS_116", "CloudFormation gets every failure as the custom resource's answer, and one that dies unanswered fails the deployment at the resource's ServiceTimeout; a dead-letter queue would hold nothing to act on"),
                ("CKV_AWS_117", "talks only to the ECS, CloudFormation and Lambda APIs and CloudFormation's response URL; in a VPC it would need endpoints or a NAT for nothing"),
            ]),
        }),
    );
    t.add(
        cat(&[&id, "Run"]),
        json!({
            "Type": RUN_TYPE,
            "Properties": {
                "ServiceToken": {"Fn::GetAtt": [function, "Arn"]},
                "ServiceTimeout": 3600,
                "Cluster": cluster,
                "TaskDefinition": task_definition,
                "Container": &w.name,
                "Subnets": subnets,
                "SecurityGroups": [{"Fn::GetAtt": [cat(&[&id, "SecurityGroup"]), "GroupId"]}],
                "LogGroup": {"Ref": cat(&[&id, "LogGroup"])},
                "TimeoutSeconds": w.run_timeout_s.unwrap_or(3300),
            }
        }),
    );
    t.outputs.insert(
        cat(&[&id, "Run"]),
        json!({"Description": format!("`{}` runs to completion during each deployment that changes it, before what depends on it; its logs", w.name), "Value": {"Ref": cat(&[&id, "LogGroup"])}}),
    );
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_runner_fits_an_inline_zip_file() {
        assert!(
            super::RUNNER_CODE.len() <= 4096,
            "{}",
            super::RUNNER_CODE.len()
        );
    }
}
