#!/usr/bin/env bash
# nat-zero data plane: turns this instance into a NAT, at every boot.
#   nat-bootstrap.sh                    apply everything (nat-zero.service)
#   nat-bootstrap.sh --check-and-repair re-apply only what drifted (nat-zero-guard.timer)
# Public = device index 0, private = device index 1. Environment overrides:
# NAT_PUBLIC_IFACE, NAT_PRIVATE_IFACE, NAT_PRIVATE_CIDRS (comma-separated),
# NAT_IFACE_WAIT_SECONDS, NAT_IMDS_ENDPOINT, NAT_STATE_DIR, NAT_INSTALL_SECONDS,
# NAT_REPORT (0: do not tag the instance), NAT_EC2_ENDPOINT, NAT_SSM_AGENT (0:
# do not install it), NAT_METRICS_DEPLOYMENT (the deployment's name: the guard
# sends the NAT's metrics), NAT_MONITORING_ENDPOINT.
# Every failure exits non-zero naming its step: a NAT that silently half-works
# (a masquerade rule on an empty interface name) is worse than one that is down.
set -euo pipefail

readonly FAMILY="inet" TABLE="nat_zero"
readonly IMDS="${NAT_IMDS_ENDPOINT:-http://169.254.169.254}"
readonly STATE_DIR="${NAT_STATE_DIR:-/run/nat-zero}"
readonly IFACE_WAIT_SECONDS="${NAT_IFACE_WAIT_SECONDS:-120}"
# One package install attempt; the guard's next run (every 20 s) makes the next.
readonly INSTALL_SECONDS="${NAT_INSTALL_SECONDS:-240}"
readonly REPORT="${NAT_REPORT:-1}"
readonly REPORT_TAG="nat-zero:dataplane"
readonly SSM_AGENT="${NAT_SSM_AGENT:-1}"
readonly METRICS_DEPLOYMENT="${NAT_METRICS_DEPLOYMENT:-}"
# The managed NAT Gateway forgets idle TCP flows after 350 s and then answers with
# a reset; matching it means clients fail fast instead of hanging.
readonly TCP_ESTABLISHED_TIMEOUT=350
readonly LOCAL_PORT_RANGE="1024 65535"

CURRENT_STEP="start"
REPORTED=""
QUIET=""
# What a failure reports: "failed" at boot; "not-forwarding" when the guard
# found drift and could not repair it (the NAT forwarded before).
FAILURE_STATUS="failed"

log() { printf 'nat-zero: %s\n' "$*" >&2; }
info() { [[ -n "$QUIET" ]] || log "$@"; }
step() { CURRENT_STEP="$1"; info "step: $1"; }
die() {
  log "FAILED in step '${CURRENT_STEP}': $*"
  REPORTED=1
  report "${FAILURE_STATUS}:${CURRENT_STEP}"
  exit 1
}
report_failure() {
  local rc=$?
  if (( rc != 0 )) && [[ -z "$REPORTED" ]]; then
    log "FAILED in step '${CURRENT_STEP}' (exit ${rc})"
  fi
}

# A metadata path; curl's {a,b} globbing asks several in one process, each answer a line.
IMDS_TOKEN=""
imds_get() {
  curl -fsS --noproxy '*' --connect-timeout 1 --max-time 3 -w '\n' \
    -H "X-aws-ec2-metadata-token: ${IMDS_TOKEN}" "${IMDS}/latest/meta-data/$1"
}

# One AWS query API call (form-encoded POST): $1 the service (ec2,
# monitoring), $2 its parameters one "Name=value" a line, where {id}, {az}
# and {now} stand for the instance ID, its AZ and the UTC time. AL2023 minimal
# has python3 but no AWS CLI: the request is signed (SigV4) with the instance
# role's credentials from IMDS. NAT_<SERVICE>_ENDPOINT overrides the endpoint.
aws_query() {
  NAT_QUERY_SERVICE="$1" NAT_QUERY_PARAMS="$2" NAT_QUERY_IMDS="$IMDS" \
    timeout 30 python3 - 2>"${STATE_DIR}/$1.err" <<'NAT_ZERO_PY'
import datetime, hmac, json, os, urllib.parse as url, urllib.request as web
from hashlib import sha256
imds, env = os.environ["NAT_QUERY_IMDS"] + "/latest/", os.environ
put = web.Request(imds + "api/token", method="PUT", headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"})
token = web.urlopen(put, timeout=3).read().decode()
def meta(path): return web.urlopen(web.Request(imds + "meta-data/" + path, headers={"X-aws-ec2-metadata-token": token}), timeout=3).read().decode().strip()
service, region, role = env["NAT_QUERY_SERVICE"], meta("placement/region"), meta("iam/security-credentials/").split()[0]
creds = json.loads(meta("iam/security-credentials/" + role))
endpoint = env.get("NAT_%s_ENDPOINT" % service.upper()) or "https://%s.%s.%s" % (service, region, meta("services/domain"))
now = datetime.datetime.now(datetime.timezone.utc)
stamp, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
fields = {"id": meta("instance-id"), "az": meta("placement/availability-zone"), "now": now.strftime("%Y-%m-%dT%H:%M:%SZ")}
body = url.urlencode(dict(p.format(**fields).split("=", 1) for p in env["NAT_QUERY_PARAMS"].splitlines())).encode()
headers = {"content-type": "application/x-www-form-urlencoded",
"host": url.urlsplit(endpoint).netloc, "x-amz-date": stamp, "x-amz-security-token": creds["Token"]}
names = ";".join(sorted(headers))
canonical = "\n".join(["POST", "/", ""] + ["%s:%s" % (k, headers[k]) for k in sorted(headers)] + ["", names, sha256(body).hexdigest()])
scope = "%s/%s/%s/aws4_request" % (day, region, service)
to_sign = "\n".join(["AWS4-HMAC-SHA256", stamp, scope, sha256(canonical.encode()).hexdigest()])
key = ("AWS4" + creds["SecretAccessKey"]).encode()
for part in (day, region, service, "aws4_request"): key = hmac.new(key, part.encode(), sha256).digest()
headers["authorization"] = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
creds["AccessKeyId"], scope, names, hmac.new(key, to_sign.encode(), sha256).hexdigest())
web.urlopen(web.Request(endpoint + "/", body, headers, method="POST"), timeout=10).read()
NAT_ZERO_PY
}

# The data plane's own word, as a tag on its instance that the reconciler
# reads in the DescribeInstances it makes anyway: "<status> <UTC time>". Sent
# once per status and boot (the state dir is on /run), and "forwarding" again
# by every guard run that finds nothing wrong: a heartbeat, so a report older
# than the reconciler's STALE_REPORT_S means a hung NAT (CreateTags is a free
# call; the guard's timer sets the beat: HEARTBEAT_PERIOD_S). Best effort:
# a NAT with no way out cannot report, and the reconciler reads "no report
# since launch" as not forwarding.
report() {
  local status="$1" again="${2:-}"
  [[ "$REPORT" == 1 ]] || return 0
  [[ -n "$again" || "$status" != "$(cat "${STATE_DIR}/reported" 2>/dev/null)" ]] || return 0
  if aws_query ec2 "Action=CreateTags
Version=2016-11-15
ResourceId.1={id}
Tag.1.Key=${REPORT_TAG}
Tag.1.Value=${status} {now}"; then
    printf '%s\n' "$status" >"${STATE_DIR}/reported"
  else
    log "report '${status}' not sent ($(tail -n 1 "${STATE_DIR}/ec2.err")); the guard tries again"
  fi
}

# The NAT's own numbers (nat_zero_nat_metrics), one PutMetricData at most
# per UTC minute whatever the guard's period (a minute is CloudWatch's
# standard resolution): conntrack entries and the share of the table they
# fill, the packets conntrack dropped (drop: the table was full; insert_failed:
# a race lost on insert; both are packets lost, summed over CPUs, in hex) and
# the guard's repairs, both since the last send. The minute is written before
# the call, so a failed call is not repeated within it either; what it should
# have counted goes out with the next one. The user data leaves the part
# between the >>> and <<< lines out unless metrics are on (EC2's 16 KiB).
saved_count() { cat "${STATE_DIR}/$1" 2>/dev/null || echo 0; }

count_repair() { echo $(( $(saved_count repairs) + 1 )) >"${STATE_DIR}/repairs"; }

# >>> nat_zero_nat_metrics
conntrack_drops() {
  local names row i total=0
  read -ra names
  while read -ra row; do
    for i in "${!names[@]}"; do
      [[ "${names[i]}" =~ ^(drop|insert_failed)$ ]] && (( total += 16#${row[i]} ))
    done
  done
  echo "$total"
}

send_metrics() {
  local minute=$(( EPOCHSECONDS / 60 )) ct=/proc/sys/net/netfilter/nf_conntrack_ drops repairs count max i=0 name value unit m
  [[ "$(saved_count metrics-minute)" != "$minute" ]] || return 0
  echo "$minute" >"${STATE_DIR}/metrics-minute"
  drops=$(conntrack_drops </proc/net/stat/nf_conntrack) repairs=$(saved_count repairs) count=$(<"${ct}count") max=$(<"${ct}max")
  local params="Action=PutMetricData
Version=2010-08-01
Namespace=NatZero"
  while read -r name value unit; do
    m="MetricData.member.$(( i += 1 ))"
    params+="
${m}.MetricName=${name}
${m}.Value=${value}
${m}.Unit=${unit}"
    m+=".Dimensions.member"
    params+="
${m}.1.Name=Deployment
${m}.1.Value=${METRICS_DEPLOYMENT}
${m}.2.Name=AZ
${m}.2.Value={az}"
  done < <(printf '%s %s %s\n' ConntrackEntries "$count" Count GuardRepairs "$repairs" Count \
    PacketsDropped $(( drops - $(saved_count drops) )) Count ConntrackUsed $(( count * 100 / max )).$(( count * 1000 / max % 10 )) Percent)
  aws_query monitoring "$params" || return 1
  echo "$drops" >"${STATE_DIR}/drops"
  echo $(( $(saved_count repairs) - repairs )) >"${STATE_DIR}/repairs"
}
# <<< nat_zero_nat_metrics

# AL2023 minimal ships no nft, and dnf needs the way out this NAT is about to
# become (the EIP on its public ENI): at first boot it can fail, or hang on a
# slow mirror. Each attempt is bounded; the guard's next run tries again.
install_package() {
  log "installing $1"
  timeout "$INSTALL_SECONDS" dnf install -y -q "$1" >&2
}

ensure_nft() {
  step "install nftables"
  command -v nft >/dev/null && return 0
  report "not-forwarding:installing nftables"
  install_package nftables || die "dnf could not install nftables within ${INSTALL_SECONDS}s"
  command -v nft >/dev/null || die "nftables is installed but nft is not on PATH"
}

# The operators' way in (SSM Session Manager; there is no SSH). Not needed to
# forward: a failure is logged, the NAT keeps working, the guard tries again.
ensure_ssm_agent() {
  [[ "$SSM_AGENT" == 1 ]] && ! command -v amazon-ssm-agent >/dev/null || return 0
  step "install amazon-ssm-agent"
  if install_package amazon-ssm-agent && systemctl enable --now amazon-ssm-agent.service; then
    log "amazon-ssm-agent installed and started"
  else
    log "amazon-ssm-agent not installed yet; the guard tries again"
  fi
}

# Sets the caller's $mac to the MAC of the ENI at device index $1. Each curl is
# a process, most of the time to forwarding at boot: one IMDSv2 token per run
# (its TTL outlasts the wait for the ENIs), then the MAC list and every MAC's
# device number (a bare number each) in two requests, read again only while an
# ENI is missing. A failed request leaves the device unknown: the caller retries.
declare -A DEVICE_MACS=()
imds_mac_for_device() {
  local macs numbers i
  if [[ -z "${DEVICE_MACS[$1]:-}" ]]; then
    [[ -n "$IMDS_TOKEN" ]] || IMDS_TOKEN=$(curl -fsS --noproxy '*' --connect-timeout 1 --max-time 3 -X PUT \
      -H 'X-aws-ec2-metadata-token-ttl-seconds: 900' "${IMDS}/latest/api/token") || return 1
    read -rd '' -a macs < <(imds_get network/interfaces/macs/) || :
    mapfile -t numbers < <(imds_get "network/interfaces/macs/{$(IFS=,; echo "${macs[*]%/}")}/device-number")
    for i in "${!macs[@]}"; do DEVICE_MACS[${numbers[i]:-x}]=${macs[i]%/}; done
  fi
  mac=${DEVICE_MACS[$1]:-}
  [[ -n "$mac" ]]
}

iface_for_mac() {
  local dev
  for dev in /sys/class/net/*; do
    if [[ "$(<"${dev}/address")" == "${1,,}" ]]; then
      printf '%s\n' "${dev##*/}"
      return 0
    fi
  done
  return 1
}

# The second ENI can appear seconds after boot (and IMDS can lag behind it), so
# look again until the deadline instead of trusting the first answer.
find_iface() {
  local var="$1" override="$2" device="$3" deadline=$((SECONDS + IFACE_WAIT_SECONDS)) mac="" iface=""
  while :; do
    if [[ -n "$override" ]]; then
      ip link show dev "$override" >/dev/null 2>&1 && iface="$override"
    else
      imds_mac_for_device "$device" && iface=$(iface_for_mac "$mac") || iface=""
    fi
    [[ -n "$iface" ]] && break
    if (( SECONDS >= deadline )); then
      [[ -n "$override" ]] && die "interface '${override}' (device index ${device}) not found after ${IFACE_WAIT_SECONDS}s"
      die "no interface with device index ${device} (IMDS MAC '${mac}') after ${IFACE_WAIT_SECONDS}s"
    fi
    # A hot-attached ENI is noticed within a tenth of a second.
    sleep 0.1
  done
  [[ "$iface" =~ ^[A-Za-z0-9._-]{1,15}$ ]] || die "unusable interface name '${iface}'"
  printf -v "$var" '%s' "$iface"
}

find_interfaces() {
  step "find interfaces"
  find_iface PUBLIC_IFACE "${NAT_PUBLIC_IFACE:-}" 0
  find_iface PRIVATE_IFACE "${NAT_PRIVATE_IFACE:-}" 1
  [[ "$PUBLIC_IFACE" != "$PRIVATE_IFACE" ]] || die "public and private are both '${PUBLIC_IFACE}'"
  info "public=${PUBLIC_IFACE} private=${PRIVATE_IFACE}"
}

find_private_cidrs() {
  step "find private CIDRs"
  local raw="${NAT_PRIVATE_CIDRS:-}" cidr mac raw_list
  if [[ -z "$raw" ]]; then
    imds_mac_for_device 1 || die "private ENI MAC not in IMDS"
    raw=$(imds_get "network/interfaces/macs/${mac}/subnet-ipv4-cidr-block") || die "private subnet CIDR not in IMDS"
  fi
  PRIVATE_CIDRS=()
  IFS=',' read -ra raw_list <<<"${raw// /}"
  for cidr in "${raw_list[@]}"; do
    [[ "$cidr" =~ ^([0-9]{1,3}\.){3}[0-9]{1,3}/[0-9]{1,2}$ ]] || die "not an IPv4 CIDR: '${cidr}'"
    PRIVATE_CIDRS+=("$cidr")
  done
  [[ -n "${PRIVATE_CIDRS[*]}" ]] || die "no private CIDRs"
  info "private CIDRs: ${PRIVATE_CIDRS[*]}"
}

# One complete table, replaced in one nft transaction: creating it empty first
# makes the delete safe on the first run, so load is atomic and idempotent, and
# no other table is touched. Only the private side starts flows: every other
# packet forwarded or delivered here belongs to one (established/related).
# Established first: it is the path almost every packet takes.
render_ruleset() {
  local cidrs
  cidrs=$(IFS=','; printf '%s' "${PRIVATE_CIDRS[*]}")
  cat <<EOF
table ${FAMILY} ${TABLE} {}
delete table ${FAMILY} ${TABLE}
table ${FAMILY} ${TABLE} {
	set private_cidrs {
		type ipv4_addr
		flags interval
		elements = { ${cidrs//,/, } }
	}
	chain input {
		type filter hook input priority filter; policy drop;
		iif "lo" accept
		ct state established,related accept
		ct state invalid drop
		iifname "${PRIVATE_IFACE}" ip saddr @private_cidrs icmp type echo-request accept
		icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-advert } ip6 hoplimit 255 accept
	}
	chain forward {
		type filter hook forward priority filter; policy drop;
		ct state established,related accept
		ct state invalid drop
		iifname "${PRIVATE_IFACE}" oifname "${PUBLIC_IFACE}" ip saddr @private_cidrs ct state new tcp flags & (fin | syn | rst | ack) != syn reject with tcp reset
		iifname "${PRIVATE_IFACE}" oifname "${PUBLIC_IFACE}" ip saddr @private_cidrs accept
	}
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "${PUBLIC_IFACE}" ip saddr @private_cidrs masquerade
	}
}
EOF
}

# Fits the table to the instance: about 1/8 of memory at ~320 bytes per entry.
conntrack_max_for_memory() {
  local entries=$(( $1 * 1024 / 8 / 320 / 1024 * 1024 ))
  (( entries < 65536 )) && entries=65536
  (( entries > 4194304 )) && entries=4194304
  printf '%s\n' "$entries"
}

# Loose reverse-path filtering: replies and other AZs' flows may arrive on the
# interface the route back does not use; strict mode would drop them.
desired_sysctls() {
  local dev
  for dev in all default "$PUBLIC_IFACE" "$PRIVATE_IFACE"; do
    printf 'net/ipv4/conf/%s/rp_filter=2\n' "$dev"
  done
  printf 'net/netfilter/nf_conntrack_tcp_timeout_established=%s\n' "$TCP_ESTABLISHED_TIMEOUT"
  printf 'net/netfilter/nf_conntrack_tcp_loose=1\n'
  printf 'net/ipv4/ip_local_port_range=%s\n' "$LOCAL_PORT_RANGE"
  printf 'net/ipv4/ip_forward=1\n'
}

# Multi-value sysctls (the port range) read back tab-separated; compare them space-separated.
sysctl_value() {
  local words
  read -ra words <"/proc/sys/$1" || return 1
  printf '%s' "${words[*]}"
}

load_ruleset() {
  step "load nftables ruleset"
  render_ruleset >"${STATE_DIR}/ruleset.nft"
  nft -f "${STATE_DIR}/ruleset.nft" || die "nft rejected ${STATE_DIR}/ruleset.nft"
  nft list table "$FAMILY" "$TABLE" >"${STATE_DIR}/ruleset.listing" || die "table ${FAMILY} ${TABLE} missing after load"
}

size_conntrack() {
  step "size conntrack"
  local max_file=/proc/sys/net/netfilter/nf_conntrack_max
  [[ -e "$max_file" ]] || die "nf_conntrack is not loaded"
  # The table size is host-wide: in a child network namespace (the tests) it is
  # read-only and stays the host's.
  if [[ ! -w "$max_file" ]]; then
    info "conntrack table size is read-only here (child network namespace): left to the host"
    return 0
  fi
  local key value mem_kb="" max
  while read -r key value _; do
    [[ "$key" == "MemTotal:" ]] && mem_kb="$value"
  done </proc/meminfo
  [[ -n "$mem_kb" ]] || die "no MemTotal in /proc/meminfo"
  max=$(conntrack_max_for_memory "$mem_kb")
  echo $(( max / 4 )) >/sys/module/nf_conntrack/parameters/hashsize
  echo "$max" >"$max_file"
  info "conntrack max=${max} buckets=$(( max / 4 ))"
}

# Forwarding is switched on last, so packets are never forwarded without the ruleset.
apply_sysctls() {
  local key value
  while IFS='=' read -r key value; do
    step "set ${key}"
    echo "$value" >"/proc/sys/${key}" || die "cannot write ${value} to ${key}"
    [[ "$(sysctl_value "$key")" == "$value" ]] || die "${key} reads '$(sysctl_value "$key")', want '${value}'"
  done < <(desired_sysctls)
}

apply() {
  ensure_nft
  find_interfaces
  find_private_cidrs
  load_ruleset
  size_conntrack
  apply_sysctls
  step "done"
  log "NAT ready: ${PRIVATE_CIDRS[*]} via ${PRIVATE_IFACE} masqueraded out of ${PUBLIC_IFACE}"
  report forwarding again
  ensure_ssm_agent
}

# The guard: cheap comparisons every 20 s, a full re-apply only on drift
# (a missing nft is drift: the install failed at boot and is tried again).
# Interfaces and CIDRs are found again each time, so a renamed device or an
# edited env file counts as drift too.
check_and_repair() {
  local drift=() live key value now item
  command -v nft >/dev/null || drift+=("nftables not installed")
  find_interfaces
  find_private_cidrs
  step "check drift"
  if [[ ! -f "${STATE_DIR}/ruleset.nft" || "$(render_ruleset)" != "$(<"${STATE_DIR}/ruleset.nft")" ]]; then
    drift+=("ruleset configuration changed or never applied")
  fi
  live=$(nft list table "$FAMILY" "$TABLE" 2>/dev/null) || live=""
  if [[ ! -f "${STATE_DIR}/ruleset.listing" || "$live" != "$(<"${STATE_DIR}/ruleset.listing")" ]]; then
    drift+=("ruleset differs from the one applied")
  fi
  while IFS='=' read -r key value; do
    now=$(sysctl_value "$key" 2>/dev/null) || now="unreadable"
    [[ "$now" == "$value" ]] || drift+=("${key}=${now}, want ${value}")
  done < <(desired_sysctls)
  if [[ -z "${drift[*]}" ]]; then
    # The heartbeat (and what failed to go out last time, when there was no route yet).
    report forwarding again
    ensure_ssm_agent
    return 0
  fi
  QUIET=""
  for item in "${drift[@]}"; do log "guard: drift: ${item}"; done
  [[ -f "${STATE_DIR}/ruleset.listing" ]] && FAILURE_STATUS="not-forwarding"
  apply
  log "guard: repaired"
  count_repair
}

main() {
  trap report_failure EXIT
  [[ "${1:-}" == "--check-and-repair" ]] && QUIET=1
  step "lock"
  mkdir -p "$STATE_DIR"
  # The boot service and the guard must not apply at the same time.
  exec {lock_fd}>"${STATE_DIR}/lock"
  flock -w 300 "$lock_fd" || die "another nat-bootstrap.sh still holds ${STATE_DIR}/lock"
  case "${1:-}" in
    "") apply ;;
    --check-and-repair)
      check_and_repair
      [[ -z "$METRICS_DEPLOYMENT" ]] || send_metrics || log "metrics not sent ($(tail -n 1 "${STATE_DIR}/monitoring.err")); the next minute's send counts them"
      ;;
    *) die "usage: $0 [--check-and-repair]" ;;
  esac
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  main "$@"
fi
