//! `images/publish.sh`: the step between `bomc build` and deploying the
//! CloudFormation template. It builds the images (through `build.sh`, for
//! the platform the task definitions declare) and pushes every image a
//! component runs as `REGISTRY/<repository>:<content tag>` — exactly the
//! reference the task definitions pull, with `ImageRegistry = REGISTRY`.
//!
//! - **Same tag, same content.** The tag is the plan's hash of what the image
//!   is built from, so an image whose tag the registry already holds is not
//!   pushed again (a rebuild is rarely byte-identical, and a service already
//!   running that tag keeps the image it resolved).
//! - **Amazon ECR.** When `REGISTRY` is an ECR registry
//!   (`<account>.dkr.ecr.<region>.amazonaws.com[/prefix]`), the script creates
//!   each repository it pushes to if missing (scan on push) and sets its
//!   lifecycle policy: images with a `live-` tag are kept, every other image
//!   expires after the plan's retention. A persistent instance moves its
//!   `live-<instance>` tag to the images it now runs (`docker buildx
//!   imagetools create`, which retags in the registry, without a pull), so
//!   what production runs never expires and what stories ran does.
//! - **`--dry-run`** prints the commands instead of running them; it needs
//!   neither Docker nor AWS credentials (the integration tests read it).

use super::encode::{comment, sh_quote};
use crate::lower::plan::Plan;
use serde_json::json;

/// The ECR lifecycle policy of every repository bomc pushes to.
pub(super) fn lifecycle_policy(plan: &Plan) -> String {
    let p = &plan.publish;
    json!({"rules": [
        {
            "rulePriority": 1,
            "description": format!("Keep the images persistent environments run (tags {}<instance>, moved by images/publish.sh)", p.live_prefix),
            "selection": {"tagStatus": "tagged", "tagPrefixList": [&p.live_prefix], "countType": "imageCountMoreThan", "countNumber": 9999},
            "action": {"type": "expire"}
        },
        {
            "rulePriority": 2,
            "description": format!("Expire any other image {} days after it was pushed", p.retention_days),
            "selection": {"tagStatus": "any", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": p.retention_days},
            "action": {"type": "expire"}
        }
    ]})
    .to_string()
}

pub(super) fn script(plan: &Plan) -> String {
    let instance = &plan.instance;
    let publish = &plan.publish;
    let mut s = String::new();
    let line = |s: &mut String, text: &str| {
        s.push_str(text);
        s.push('\n');
    };
    line(&mut s, "#!/bin/sh");
    line(&mut s, &format!("# {}", comment(&instance.header)));
    line(&mut s, "#");
    line(
        &mut s,
        &format!(
            "# Publishes the images of landscape `{}` ({}) for AWS: builds them with images/build.sh",
            comment(&instance.landscape),
            comment(&instance.instance)
        ),
    );
    line(
        &mut s,
        &format!(
            "# for {} (the platform the task definitions declare), then pushes every image a component",
            publish.platform
        ),
    );
    line(
        &mut s,
        "# runs as REGISTRY/<repository>:<content tag>: the reference the CloudFormation task",
    );
    line(
        &mut s,
        "# definitions pull when deployed with ImageRegistry=REGISTRY. A tag the registry already",
    );
    line(
        &mut s,
        "# holds is not pushed again: the tag is a hash of what the image is built from.",
    );
    line(&mut s, "#");
    line(
        &mut s,
        "# Usage: sh images/publish.sh [--dry-run] REGISTRY        (or BOMC_REGISTRY=REGISTRY)",
    );
    line(
        &mut s,
        "#   REGISTRY   e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com, optionally /with/a/prefix",
    );
    line(
        &mut s,
        "#   --dry-run  print the commands instead of running them (no Docker, no credentials)",
    );
    line(&mut s, "#");
    line(
        &mut s,
        "# On Amazon ECR it creates each repository if missing (scan on push) and sets its lifecycle",
    );
    line(
        &mut s,
        &format!(
            "# policy: images tagged {}* are kept, any other expires {} days after its push.",
            publish.live_prefix, publish.retention_days
        ),
    );
    match &publish.live_tag {
        Some(live) => line(
            &mut s,
            &format!(
                "# This instance is persistent: it moves the tag {live} to the images it publishes."
            ),
        ),
        None => line(
            &mut s,
            "# This instance is ephemeral: its images carry no live tag and expire with the policy.",
        ),
    }
    line(
        &mut s,
        "# Log in first: aws ecr get-login-password --region R | docker login --username AWS --password-stdin REGISTRY",
    );
    line(&mut s, "set -eu");
    line(&mut s, "dry_run=");
    line(
        &mut s,
        "if [ \"${1:-}\" = \"--dry-run\" ]; then dry_run=1; shift; fi",
    );
    line(&mut s, "registry=${1:-${BOMC_REGISTRY:-}}");
    line(&mut s, "if [ -z \"$registry\" ]; then");
    line(
        &mut s,
        "  echo 'usage: sh images/publish.sh [--dry-run] REGISTRY (e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com)' >&2",
    );
    line(&mut s, "  exit 2");
    line(&mut s, "fi");
    line(&mut s, "registry=${registry%/}");
    line(&mut s, "images=$(cd \"$(dirname \"$0\")\" && pwd)");
    line(&mut s, "host=${registry%%/*}");
    line(&mut s, "prefix=${registry#\"$host\"}");
    line(&mut s, "prefix=${prefix#/}");
    line(&mut s, "prefix=${prefix:+$prefix/}");
    line(&mut s, "case \"$host\" in");
    line(
        &mut s,
        "  *.dkr.ecr.*.amazonaws.com | *.dkr.ecr.*.amazonaws.com.cn) region=$(printf '%s' \"$host\" | cut -d. -f4) ;;",
    );
    line(&mut s, "  *) region= ;;");
    line(&mut s, "esac");
    line(
        &mut s,
        &format!("lifecycle={}", sh_quote(&lifecycle_policy(plan))),
    );
    line(&mut s, "");
    line(&mut s, "run() {");
    line(&mut s, "  if [ -n \"$dry_run\" ]; then");
    line(&mut s, "    printf '+'");
    line(&mut s, "    printf ' %s' \"$@\"");
    line(&mut s, "    printf '\\n'");
    line(&mut s, "  else");
    line(&mut s, "    \"$@\"");
    line(&mut s, "  fi");
    line(&mut s, "}");
    line(&mut s, "");
    line(
        &mut s,
        "# An ECR repository, created if missing, with the lifecycle policy.",
    );
    line(&mut s, "ecr_repository() {");
    line(&mut s, "  [ -n \"$region\" ] || return 0");
    line(
        &mut s,
        "  if [ -n \"$dry_run\" ] || ! aws ecr describe-repositories --region \"$region\" --repository-names \"$1\" >/dev/null 2>&1; then",
    );
    line(
        &mut s,
        &format!(
            "    run aws ecr create-repository --region \"$region\" --repository-name \"$1\" --image-scanning-configuration scanOnPush=true --tags Key=bomc:landscape,Value={} --query repository.repositoryUri --output text ||",
            sh_quote(&instance.landscape)
        ),
    );
    line(
        &mut s,
        "      aws ecr describe-repositories --region \"$region\" --repository-names \"$1\" >/dev/null",
    );
    line(&mut s, "  fi");
    line(
        &mut s,
        "  run aws ecr put-lifecycle-policy --region \"$region\" --repository-name \"$1\" --lifecycle-policy-text \"$lifecycle\" --query repositoryName --output text",
    );
    line(&mut s, "}");
    line(&mut s, "");
    line(
        &mut s,
        "# Pushes one image (local reference, repository, tag) unless the registry has that tag.",
    );
    line(&mut s, "publish() {");
    line(&mut s, "  remote=\"$registry/$2:$3\"");
    line(&mut s, "  ecr_repository \"$prefix$2\"");
    line(
        &mut s,
        "  if [ -z \"$dry_run\" ] && docker manifest inspect \"$remote\" >/dev/null 2>&1; then",
    );
    line(
        &mut s,
        "    echo \"= $remote (already in the registry: same tag, same sources)\"",
    );
    line(&mut s, "  else");
    line(&mut s, "    run docker tag \"$1\" \"$remote\"");
    line(&mut s, "    run docker push \"$remote\"");
    line(&mut s, "  fi");
    if let Some(live) = &publish.live_tag {
        line(
            &mut s,
            &format!(
                "  run docker buildx imagetools create --tag \"$registry/$2:{live}\" \"$remote\""
            ),
        );
    }
    line(&mut s, "}");
    line(&mut s, "");
    line(
        &mut s,
        &format!(
            "run env BOMC_PLATFORM={} sh \"$images/build.sh\"",
            sh_quote(&publish.platform)
        ),
    );
    let mut pushed = 0;
    for image in plan.images.iter().filter(|i| i.publish) {
        pushed += 1;
        line(
            &mut s,
            &format!(
                "publish {} {} {}",
                sh_quote(&image.tag),
                sh_quote(&image.repository),
                sh_quote(&image.content_tag)
            ),
        );
    }
    if pushed == 0 {
        line(
            &mut s,
            "echo 'No component runs an image bomc builds: nothing to push.'",
        );
    }
    line(
        &mut s,
        "echo \"Deploy with the parameter ImageRegistry=$registry\"",
    );
    s
}
