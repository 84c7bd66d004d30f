#!/usr/bin/env bash
# The demo scenario of the README: three cases accepted at the 五台县 通办 window and decided
# remotely — 跨省通办 to 银川, 全省通办 to 太原, 区域通办 to 鄂尔多斯 — each claimed and approved by
# a reviewer of the responsible office through the CLI, then read back by the 12345 hotline;
# a 多地联办 户口迁移 handled in turn by 五台 (迁入地) and 银川 (迁出地); and a 一件事 (出生一件事)
# submitted once, opening one case per member matter (the members needing the 出生医学证明 are
# routed once its member is approved).
# Expects the services running (deploy/up.sh starts them, then runs this).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN="${TONGBAN_BIN_DIR:-${CARGO_TARGET_DIR:-target}/release}"
tb() { "$BIN/tongban" "$@"; }
say() { printf '\n\033[1m▶ %s\033[0m\n' "$*"; }
# json_field NAME: the first string value of NAME in the JSON on stdin (the CLI's --json answer).
json_field() { grep -o "\"$1\": *\"[^\"]*\"" | head -1 | sed 's/.*"\([^"]*\)"$/\1/'; }
# await_until WHAT CMD...: run CMD quietly until it succeeds, bounded (50 × 0.2 s); else fail
# naming WHAT.
await_until() {
  local what=$1
  shift
  for _ in $(seq 1 50); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  echo "等待超时 / timed out waiting: $what" >&2
  return 1
}

export TONGBAN_STATE_DIR="${TONGBAN_STATE_DIR:-var/state}"
# Run on its own, it reaches deploy/up.sh's services over https with the CA up.sh wrote down.
if [ -z "${TONGBAN_TLS_CA:-}" ] && [ -f "$TONGBAN_STATE_DIR/client.env" ]; then
  # shellcheck source=/dev/null
  source "$TONGBAN_STATE_DIR/client.env"
fi
WINDOW=140922-zwfw
CLERK=$(tb token mint --role clerk --office "$WINDOW" --user 窗口-李丽)
HOTLINE=$(tb token mint --role hotline --office 140900-12345 --user 话务员-张敏)
# A hash of a scanned page; the demo stands in for the window's scanner.
SCAN=$(printf 'demo scan' | sha256sum | cut -d' ' -f1)
ID_NUMBER=11010519491231002X
PHONE=13812345678

# run_case TITLE MATTER HOME OFFICE MATERIAL...
run_case() {
  local title=$1 matter=$2 home=$3 office=$4
  shift 4
  local materials=()
  for m in "$@"; do materials+=(--material "$m:electronic:$SCAN:2"); done
  local reviewer
  reviewer=$(tb token mint --role reviewer --office "$office" --user "审批-$office")

  say "$title：一次性告知清单 / one-time notice ($matter)"
  tb --token "$CLERK" catalog notice "$matter" --window "$WINDOW" --home "$home"

  say "$title：窗口受理 / the window accepts the case"
  local out number
  out=$(tb --token "$CLERK" --json window submit --window "$WINDOW" --matter "$matter" --mode online \
    --name 王小明 --id-number "$ID_NUMBER" --phone "$PHONE" --home "$home" "${materials[@]}" --delivery window)
  number=$(printf '%s' "$out" | json_field case_number)
  tb --token "$CLERK" window show "$number"

  say "$title：属地审批人员查看待办 / the responsible office's inbox ($office)"
  await_inbox "$reviewer" "$number"
  tb --token "$reviewer" office inbox

  say "$title：认领并审批 / claim and approve with the full checklist"
  tb --token "$reviewer" office claim "$number"
  tb --token "$reviewer" office decide "$number" --approve --reason "材料齐全，符合条件" --check-all-pass

  say "$title：12345 热线查询（核验身份证后六位）/ the hotline answers a caller"
  for _ in $(seq 1 50); do
    if tb --token "$HOTLINE" --json hotline status "$number" --verify "${ID_NUMBER: -6}" 2>/dev/null | grep -q 'CASE_STATUS_COMPLETED'; then break; fi
    sleep 0.2
  done
  tb --token "$HOTLINE" hotline status "$number" --verify "${ID_NUMBER: -6}"
  LAST_NUMBER=$number LAST_OFFICE=$office
}

# hotline_demo: 好差评 with 整改 and 回访, a complaint through its closed loop, the summary and the
# 办结公示, on the last case of the demo.
hotline_demo() {
  local number=$LAST_NUMBER office=$LAST_OFFICE reviewer cid rid
  reviewer=$(tb token mint --role reviewer --office "$office" --user "审批-$office")
  say "12345：好差评（办结时，不满意）→ 差评整改 / a bad rating opens a rectification item"
  tb --token "$HOTLINE" hotline rate "$number" --verify "${PHONE: -4}" --occasion completion \
    --level dissatisfied --comment "等待时间较长" --score efficiency=2 --score attitude=4
  tb --token "$HOTLINE" hotline rectifications --state open

  say "12345：投诉 受理→转办→办理→回复→回访→办结 / a complaint through its closed loop"
  cid=$(tb --token "$HOTLINE" --json hotline complain "$number" --verify "${PHONE: -4}" \
    --name 王小明 --phone "$PHONE" --content "证明出具较慢，希望说明原因" |
    json_field complaint_id)
  tb --token "$HOTLINE" hotline complaint advance "$cid" --to assigned --note "转承办单位办理" >/dev/null
  tb --token "$reviewer" hotline complaint advance "$cid" --to handling --note "已核实" >/dev/null
  tb --token "$reviewer" hotline complaint advance "$cid" --to replied --note "已电话说明原因并致歉" >/dev/null
  tb --token "$HOTLINE" hotline complaint advance "$cid" --to followed-up --note "群众表示认可" >/dev/null
  tb --token "$HOTLINE" hotline complaint advance "$cid" --to closed

  say "12345：整改回访 / call-back confirms the rectification"
  rid=$(tb --token "$HOTLINE" --json hotline rectifications --state open |
    json_field rectification_id)
  tb --token "$HOTLINE" hotline callback "$rid" --satisfied --note "已整改，群众满意"

  say "好差评统计（好评率、差评整改率）/ ratings summary"
  tb --token "$HOTLINE" hotline summary
  say "办结公示 / completed cases, applicant names masked"
  tb --token "$HOTLINE" hotline notices
}

# certificate_demo: 两个免提交 — 银川市公安局 issues an e-certificate 居民身份证 (seeding a demo
# holder); the 五台 window verifies it against the trust list and accepts a case with the
# identity card presented as that e-certificate instead of a scan; then it is verified again.
certificate_demo() {
  local issuer token out number
  issuer=$(tb token mint --role issuer --office 640100-gongan --user 发证-银川公安)
  say "电子证照：银川市公安局签发居民身份证电子证照 / Yinchuan police issue an e-ID card"
  token=$(tb --token "$issuer" cert issue --type 111 --name 王小明 --id-number "$ID_NUMBER" \
    --field "address=北京市丰台区示例路 1 号" --token-only)
  say "电子证照：五台窗口核验（跨省互信）/ the Wutai window verifies it (cross-province trust)"
  tb --token "$CLERK" cert verify "$token" --holder "$ID_NUMBER" --type 111
  tb --token "$CLERK" cert trust
  say "两个免提交：身份证以电子证照代替，免交纸质、免上传 / the ID card needs no paper, no upload"
  out=$(tb --token "$CLERK" --json window submit --window "$WINDOW" --matter GA-HJ-ZM --mode online \
    --name 王小明 --id-number "$ID_NUMBER" --phone "$PHONE" --home 640104 \
    --certificate "SFZ:$token" --material "YTSM:electronic:$SCAN:1" --delivery ecert)
  number=$(printf '%s' "$out" | json_field case_number)
  tb --token "$CLERK" window show "$number"
  say "电子证照：核验通过 / the certificate verified once more"
  tb --token "$CLERK" cert verify "$token" --holder "$ID_NUMBER"

  # Results as certificates: the applicant chose 电子证照 delivery, so the approval of 银川市公安局
  # issues a 户籍证明 (type 126) signed with its key; the case completes with it.
  local reviewer result
  reviewer=$(tb token mint --role reviewer --office 640100-gongan --user 审批-640100-gongan)
  say "结果电子证照：银川市公安局认领并准予 / Yinchuan police claim and approve"
  await_inbox "$reviewer" "$number"
  tb --token "$reviewer" office claim "$number"
  tb --token "$reviewer" office decide "$number" --approve --reason "户籍档案可查证，准予出具" --check-all-pass
  for _ in $(seq 1 50); do
    if tb --token "$CLERK" --json window show "$number" | grep -q 'CASE_STATUS_COMPLETED'; then break; fi
    sleep 0.2
  done
  result=$(mktemp)
  say "结果电子证照：办结，窗口取得证照令牌 / completed with the result certificate"
  tb --token "$CLERK" window show "$number" --token-out "$result"
  say "结果电子证照：核验通过 / the result certificate verifies"
  tb --token "$CLERK" cert verify "$result" --holder "$ID_NUMBER" --type 126
  rm -f "$result"
}

# logistics_demo: 寄递 — a 户口迁移（工作调动） case accepted 异地代收代办 in 五台 with the transfer order
# on paper: the original travels to 银川市公安局 (the courier's scans come in through the carrier
# callback), approval waits for it, and the result is mailed back to the applicant.
logistics_demo() {
  local reviewer carrier out number case_id originals result
  reviewer=$(tb token mint --role reviewer --office 640100-gongan --user 审批-640100-gongan)
  carrier=$(tb token mint --role carrier --office simulated --user 快递员-周强)
  say "寄递：异地代收代办，调令原件随件寄递 / proxy case, the transfer order travels on paper"
  out=$(tb --token "$CLERK" --json window submit --window "$WINDOW" --matter GA-HJ-QY-GZDD --mode proxy \
    --name 王小明 --id-number "$ID_NUMBER" --phone "$PHONE" --home 640104 \
    --material "SFZ:electronic:$SCAN:1" --material "HKB:electronic:$SCAN:2" --material "DDZM:paper" \
    --material "LDHT:electronic:$SCAN:3" --material "ZSZM:electronic:$SCAN:1" \
    --delivery mail --address "山西省忻州市五台县台城镇东街18号")
  number=$(printf '%s' "$out" | json_field case_number)
  case_id=$(printf '%s' "$out" | json_field case_id)
  for _ in $(seq 1 50); do
    originals=$(tb --token "$CLERK" --json logistics list "$case_id" | grep -o '"tracking_number": *"TB[0-9X]*"' | head -1 | grep -o 'TB[0-9X]*' || true)
    [ -n "$originals" ] && break
    sleep 0.2
  done
  say "寄递：运单自动生成，跨省按资费表计费 / the waybill is made, postage by the tariff"
  tb --token "$CLERK" logistics track "$originals"
  say "寄递：快递员揽收、转运 / the courier picks up; in transit"
  tb --token "$carrier" logistics report "$originals" --status picked-up --event-id "$originals-1" --location 五台县揽收网点 >/dev/null
  tb --token "$carrier" logistics report "$originals" --status in-transit --event-id "$originals-2" --location 太原转运中心 >/dev/null
  await_inbox "$reviewer" "$number"
  tb --token "$reviewer" office claim "$number" >/dev/null
  say "寄递：原件未送达，准予被拒绝（可先依据扫描件审查）/ approval refused until the original arrives"
  tb --token "$reviewer" office decide "$number" --approve --reason "符合条件" --check-all-pass || true
  say "寄递：银川市公安局签收 / delivered to Yinchuan police"
  tb --token "$carrier" logistics report "$originals" --status delivered --event-id "$originals-3" --location 银川市公安局收发室 >/dev/null
  for _ in $(seq 1 50); do
    if tb --token "$reviewer" office decide "$number" --approve --reason "原件核验无误，准予迁入" --check-all-pass >/dev/null 2>&1; then break; fi
    sleep 0.2
  done
  tb --token "$reviewer" office show "$number"
  for _ in $(seq 1 50); do
    result=$(tb --token "$reviewer" --json logistics list "$case_id" | grep -o '"tracking_number": *"TB[0-9X]*"' | sed -n 2p | grep -o 'TB[0-9X]*' || true)
    [ -n "$result" ] && break
    sleep 0.2
  done
  say "寄递：办理结果邮寄给申请人 / the result is mailed to the applicant"
  tb --token "$carrier" logistics report "$result" --status picked-up --event-id "$result-1" --location 银川市揽收网点 >/dev/null
  tb --token "$carrier" logistics report "$result" --status delivered --event-id "$result-2" --location 五台县台城镇 >/dev/null
  tb --token "$CLERK" window show "$number"
  say "寄递：12345 热线查看运单状态 / the hotline sees each waybill"
  for _ in $(seq 1 50); do
    if tb --token "$HOTLINE" --json hotline status "$number" --verify "${ID_NUMBER: -6}" 2>/dev/null | grep -c '"status": "delivered"' | grep -q 2; then break; fi
    sleep 0.2
  done
  tb --token "$HOTLINE" hotline status "$number" --verify "${ID_NUMBER: -6}"
}

# in_inbox TOKEN NUMBER: whether the case is in the token's office inbox.
in_inbox() { tb --token "$1" office inbox | grep -q "$2"; }
# await_inbox TOKEN NUMBER: wait (bounded) until the case is in the token's office inbox.
await_inbox() { await_until "办件 $2 进入待办 / case $2 in the inbox" in_inbox "$1" "$2"; }
# case_has_status NUMBER STATUS: whether the window sees the case in STATUS (CASE_STATUS_…).
case_has_status() { tb --token "$CLERK" --json window show "$1" | grep -q "\"$2\""; }
# no_member_submitted BUNDLE: whether no member of the bundle still waits for another member
# (every `waiting_for` list is empty; a case's own status is not grepped for, since each case's
# timeline holds a CASE_STATUS_SUBMITTED step).
no_member_submitted() {
  local out
  out=$(tb --token "$CLERK" --json window bundle show "$1") || return 1
  grep -q '"waiting_for"' <<<"$out" && ! grep -q '"waiting_for": \[$' <<<"$out"
}

# joint_demo: 多地联办 — 户口迁移（工作调动） of an applicant whose 户口 is in 银川 (home_division
# 640104, 迁出地) moving to 五台 (destination_division 140922, 迁入地), accepted at the 五台 window
# in mode joint. Part QR (迁入地审批) goes to 五台县公安局, part QC (迁出地办理迁出) to 银川市公安局
# and waits for QR: 银川 cannot claim it until 五台 has approved. Each office answers its own
# 审查要点 (QR: R1–R4, QC: R_QC); the case ends when both parts are approved.
joint_demo() {
  local wutai yinchuan out number
  wutai=$(tb token mint --role reviewer --office 140922-gongan --user 审批-140922-gongan)
  yinchuan=$(tb token mint --role reviewer --office 640100-gongan --user 审批-640100-gongan)

  say "多地联办：户口迁移各环节去向（迁出地 银川，迁入地 五台）/ where each part of a joint case goes"
  tb --token "$CLERK" catalog route GA-HJ-QY-GZDD --window "$WINDOW" --home 640104 \
    --mode joint --destination 140922

  say "多地联办：窗口受理 / the window accepts the joint case"
  out=$(tb --token "$CLERK" --json window submit --window "$WINDOW" --matter GA-HJ-QY-GZDD --mode joint \
    --destination 140922 --name 王小明 --id-number "$ID_NUMBER" --phone "$PHONE" --home 640104 \
    --material "SFZ:electronic:$SCAN:1" --material "HKB:electronic:$SCAN:2" \
    --material "DDZM:electronic:$SCAN:1" --material "LDHT:electronic:$SCAN:3" \
    --material "ZSZM:electronic:$SCAN:1" --delivery window)
  number=$(printf '%s' "$out" | json_field case_number)
  tb --token "$CLERK" window show "$number"

  say "多地联办：五台县公安局待办 — 迁入地审批（QR）/ the 五台 police inbox has part QR"
  await_inbox "$wutai" "$number"
  tb --token "$wutai" office inbox
  say "多地联办：银川市公安局待办 — 迁出（QC）待前序环节办结 / 银川's part QC waits for QR"
  await_inbox "$yinchuan" "$number"
  tb --token "$yinchuan" office inbox
  tb --token "$yinchuan" office show "$number"
  say "多地联办：迁入地未审批，银川认领被拒绝 / 银川 may not claim before QR is approved"
  if tb --token "$yinchuan" office claim "$number"; then
    echo "银川不应能认领 / 银川 should not have been able to claim" >&2
    return 1
  fi

  say "多地联办：五台认领并准予迁入（本环节审查要点 R1–R4）/ 五台 claims and approves QR"
  tb --token "$wutai" office claim "$number" >/dev/null
  tb --token "$wutai" office decide "$number" --approve --reason "调动手续齐全，迁入地住所符合落户条件" \
    --check R1=pass --check R2=pass --check R3=pass --check "R4=pass:无随迁人员"

  say "多地联办：银川认领并办理迁出（审查要点 R_QC）/ 银川 claims and approves QC"
  await_until "银川认领迁出环节 / 银川 claims QC" tb --token "$yinchuan" office claim "$number"
  tb --token "$yinchuan" office decide "$number" --approve --reason "户籍信息一致，准予迁出" \
    --check "R_QC=pass:无不予迁出情形"

  say "多地联办：两个环节均已准予，办件办结 / both parts approved, the case is completed"
  await_until "办件 $number 办结 / case $number completed" case_has_status "$number" CASE_STATUS_COMPLETED
  tb --token "$CLERK" window show "$number"
}

# bundle_demo: 一件事一次办 — 出生一件事 (YJS-CS) at the 五台 window for a family whose 户籍 is in
# 银川 (home 640104): the union of the members' materials is presented once (SFZ, JHZ, HKB …
# each once) and one case is opened per member matter, each routed on its own to the 银川
# office of its department (跨省通办); the bundle's status is derived from its members.
# Resubmitting with the same idempotency key returns the same bundle. The 出生医学证明 (CSZM) is
# not presented: the member 出生医学证明首次签发 issues it, so 生育登记, 出生登记 and 医保参保 wait,
# submitted but not routed, until 银川市卫健委 approves it; then they are routed, carrying it.
bundle_demo() {
  local key out bundle first weijian
  weijian=$(tb token mint --role reviewer --office 640100-weijian --user 审批-640100-weijian)
  say "一件事：出生一件事的成员事项与合并材料 / the birth bundle: members and merged materials"
  tb --token "$CLERK" catalog bundle YJS-CS

  say "一件事：窗口一次受理，每个成员事项各自成件 / one submission, one case per member"
  key="demo-yjs-cs-$(date +%s)-$$"
  local args=(window bundle submit --window "$WINDOW" --bundle YJS-CS --mode online
    --name 王小明 --id-number "$ID_NUMBER" --phone "$PHONE" --home 640104
    --material "SFZ:electronic:$SCAN:2" --material "JHZ:electronic:$SCAN:1"
    --material "HKB:electronic:$SCAN:2" --material "QFDJB:electronic:$SCAN:1" --material "JMCBB:electronic:$SCAN:1"
    --material "ZP:electronic:$SCAN:1" --delivery window --idempotency-key "$key")
  tb --token "$CLERK" "${args[@]}"
  # The same key again is the same bundle (idempotent): read its number from the JSON answer.
  out=$(tb --token "$CLERK" --json "${args[@]}")
  bundle=$(printf '%s' "$out" | json_field bundle_number)
  first=$(printf '%s' "$out" | json_field case_number)

  say "一件事：窗口查看一件事及成员办件状态 / the window shows the bundle and its members"
  tb --token "$CLERK" window bundle show "$bundle"
  say "一件事：属地部门只见本部门办件，其余成员仅见事项与状态 / an office sees its own member only"
  await_inbox "$weijian" "$first"
  tb --token "$weijian" office show "$first"

  say "一件事：卫健委签发出生医学证明（认领并准予）/ 银川 weijian approves the birth certificate"
  tb --token "$weijian" office claim "$first" >/dev/null
  tb --token "$weijian" office decide "$first" --approve --reason "医疗机构出生记录核实无误，准予签发" \
    --check-all-pass

  say "一件事：等待出生医学证明的成员已受理并分派 / the members that waited are now routed"
  await_until "一件事 $bundle 成员均已受理 / every member of $bundle accepted" no_member_submitted "$bundle"
  tb --token "$CLERK" window bundle show "$bundle"
}

certificate_demo
logistics_demo
run_case "跨省通办 五台→银川" GA-HJ-ZM 640104 640100-gongan SFZ YTSM
run_case "全省通办 五台→太原" GJJ-TQ-TX 140105 140100-gjj SFZ TXZM YHK
run_case "区域通办 五台→鄂尔多斯" JY-XJ-GZZM 150602 150600-jiaoyu SFZ XJXX
joint_demo
bundle_demo

hotline_demo

say "演示完成 / demo finished"
