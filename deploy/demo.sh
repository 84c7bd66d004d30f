#!/usr/bin/env bash
# The demo scenario of the README: three cases accepted at the 五台县 通办 window and decided
# remotely — 跨省通办 to 银川, 全省通办 to 太原, 区域通办 to 鄂尔多斯 — each claimed and approved by
# a reviewer of the responsible office through the CLI, then read back by the 12345 hotline.
# Expects the services running (deploy/up.sh starts them, then runs this).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN="${TONGBAN_BIN_DIR:-${CARGO_TARGET_DIR:-target}/release}"
tb() { "$BIN/tongban" "$@"; }
say() { printf '\n\033[1m▶ %s\033[0m\n' "$*"; }

export TONGBAN_STATE_DIR="${TONGBAN_STATE_DIR:-var/state}"
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
  number=$(printf '%s' "$out" | grep -o '"case_number": *"[^"]*"' | head -1 | sed 's/.*"\([^"]*\)"$/\1/')
  tb --token "$CLERK" window show "$number"

  say "$title：属地审批人员查看待办 / the responsible office's inbox ($office)"
  for _ in $(seq 1 50); do
    if tb --token "$reviewer" office inbox | grep -q "$number"; then break; fi
    sleep 0.2
  done
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
}

run_case "跨省通办 五台→银川" GA-HJ-ZM 640104 640100-gongan SFZ YTSM
run_case "全省通办 五台→太原" GJJ-TQ-TX 140105 140100-gjj SFZ TXZM YHK
run_case "区域通办 五台→鄂尔多斯" JY-XJ-GZZM 150602 150600-jiaoyu SFZ XJXX

say "演示完成 / demo finished"
