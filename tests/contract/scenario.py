#!/usr/bin/env python3
"""契约检查 / contract check: drives the whole 跨省通办 scenario through a gRPC client that Python's
grpcio-tools generates from proto/, using only the API names of DESIGN.md §6.

Steps: CatalogService.GetNotice/ResolveRoute for the three demo routes; IntakeService.SubmitCase
(跨省通办 GA-HJ-ZM, home 640104, window 140922-zwfw); ReviewService.ListAssignments (bounded
poll), ClaimCase, DecideCase (APPROVE, every required review point of GetMatter passed);
IntakeService.GetCase (bounded poll until COMPLETED); HotlineService.QueryCaseStatus with the
last six characters of the ID number.

多地联办 (MODE_JOINT): ResolveRoute and SubmitCase of GA-HJ-QY-GZDD (home 640104 银川 = 迁出地,
destination 140922 五台 = 迁入地): part QR at 140922-gongan, part QC at 640100-gongan waiting for
QR; ClaimCase by 640100-gongan is FAILED_PRECONDITION; 140922-gongan claims and approves QR with
QR's review points; then 640100-gongan claims and approves QC; GetCase shows the case
COMPLETED with both parts approved.

一件事 (bundles): ListBundles has YJS-CS with each material once; GetBundleNotice answers with the
one-time notice text and every member's office; SubmitBundle with the union of
required materials opens one case per member (idempotent on its key); GetBundle by number shows
the members and the derived status; GetCase of a member carries the bundle.

Environment:
  TONGBAN_CLI          the tongban CLI (default target/debug/tongban), used for `token mint`
  TONGBAN_STATE_DIR    the services' state directory (holds the token signing key)
  TONGBAN_INTAKE_URL   intake endpoint  (default 127.0.0.1:50051; an http:// prefix is allowed,
                       https:// uses TLS verified against TONGBAN_TLS_CA)
  TONGBAN_TLS_CA       the CA of https:// endpoints (deploy/up.sh: var/state/tls/ca.pem)
  TONGBAN_REVIEW_URL   review endpoint  (default 127.0.0.1:50052)
  TONGBAN_HOTLINE_URL  hotline endpoint (default 127.0.0.1:50055)
  TONGBAN_CONTRACT_WAIT_SECS  bound of each poll (default 60)

Prints each step; on the first failure prints what went wrong and exits 1. The last line is
`contract: N passed, M failed` (N checks passed).
"""

from __future__ import annotations

import glob
import hashlib
import importlib
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PROTO_DIR = REPO / "proto"

WINDOW = "140922-zwfw"
ID_NUMBER = "11010519491231002X"
PHONE = "13812345678"
NAME = "王小明"
# Hex SHA-256 of a scanned page (the client stands in for the window's scanner).
SCAN_SHA256 = hashlib.sha256(b"tongban contract scan").hexdigest()

# (matter, home division, expected scope, expected responsible office, agreement expected)
ROUTES = [
    ("GA-HJ-ZM", "640104", "SCOPE_CROSS_PROVINCE", "640100-gongan", False),
    ("GJJ-TQ-TX", "140105", "SCOPE_PROVINCE_WIDE", "140100-gjj", False),
    ("JY-XJ-GZZM", "150602", "SCOPE_REGIONAL", "150600-jiaoyu", True),
]
RPC_TIMEOUT = 15.0


class ContractFailure(Exception):
    """A check that did not hold, or a call that failed."""


class Checks:
    """Counts checks; the first failing one stops the run."""

    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def check(self, what: str, ok: bool, detail: str = "") -> None:
        if ok:
            self.passed += 1
            print(f"    ok   {what}")
            return
        self.failed += 1
        print(f"    FAIL {what}" + (f": {detail}" if detail else ""))
        raise ContractFailure(what)

    def equal(self, what: str, actual, expected) -> None:
        self.check(what, actual == expected, f"got {actual!r}, expected {expected!r}")

    def summary(self) -> str:
        return f"contract: {self.passed} passed, {self.failed} failed"


def step(text: str) -> None:
    print(f"==> {text}", flush=True)


def endpoint(var: str, default: str) -> str:
    value = os.environ.get(var) or default
    for prefix in ("http://", "https://", "grpc://"):
        if value.startswith(prefix):
            value = value[len(prefix):]
    return value.rstrip("/")


def channel(var: str, default: str):
    """A channel to the service in `var`: TLS verified against TONGBAN_TLS_CA for https://."""
    import grpc

    address = endpoint(var, default)
    if not (os.environ.get(var) or "").startswith("https://"):
        return grpc.insecure_channel(address)
    ca_path = os.environ.get("TONGBAN_TLS_CA")
    if not ca_path:
        raise ContractFailure(f"{var} is https but TONGBAN_TLS_CA is not set")
    with open(ca_path, "rb") as f:
        credentials = grpc.ssl_channel_credentials(root_certificates=f.read())
    return grpc.secure_channel(address, credentials)


def generate_stubs(out_dir: str) -> None:
    """Runs grpcio-tools' protoc over every .proto of proto/ into `out_dir`."""
    protos = sorted(glob.glob(str(PROTO_DIR / "tongban" / "**" / "*.proto"), recursive=True))
    if not protos:
        raise ContractFailure(f"no .proto files under {PROTO_DIR}")
    cmd = [
        sys.executable, "-m", "grpc_tools.protoc",
        f"-I{PROTO_DIR}", f"--python_out={out_dir}", f"--grpc_python_out={out_dir}",
        *protos,
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ContractFailure(f"protoc failed ({result.returncode}): {result.stderr.strip()}")
    print(f"    generated Python stubs for {len(protos)} proto files in {out_dir}")
    sys.path.insert(0, out_dir)


def mint(role: str, office: str, user: str) -> str:
    """A bearer token from `tongban token mint` (the CLI prints the token alone)."""
    cli = os.environ.get("TONGBAN_CLI") or str(REPO / "target" / "debug" / "tongban")
    cmd = [cli, "token", "mint", "--role", role, "--office", office, "--user", user]
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=60)
    except FileNotFoundError as err:
        raise ContractFailure(f"CLI not found: {cli} (set TONGBAN_CLI)") from err
    token = result.stdout.strip()
    if result.returncode != 0 or not token or "\n" in token:
        raise ContractFailure(
            f"`tongban token mint --role {role}` failed ({result.returncode}): "
            f"{result.stderr.strip()}"
        )
    return token


def metadata(token: str) -> tuple:
    return (("authorization", f"Bearer {token}"), ("accept-language", "zh-CN"))


def call(what: str, rpc, request, token: str):
    """Calls `rpc`, turning a gRPC error into a clear failure."""
    import grpc

    try:
        return rpc(request, metadata=metadata(token), timeout=RPC_TIMEOUT)
    except grpc.RpcError as err:
        raise ContractFailure(f"{what} failed: {err.code().name}: {err.details()}") from err


def poll(what: str, fetch, done, bound: float):
    """Calls `fetch` until `done(result)` holds, for at most `bound` seconds."""
    deadline = time.monotonic() + bound
    attempts = 0
    while True:
        attempts += 1
        result = fetch()
        if done(result):
            print(f"    {what}: after {attempts} attempt(s)")
            return result
        if time.monotonic() >= deadline:
            raise ContractFailure(f"{what}: not reached within {bound:.0f} s ({attempts} attempts)")
        time.sleep(0.25)


def run(checks: Checks) -> None:
    step("用 grpcio-tools 从 proto/ 生成客户端 / generating the client from proto/ with grpcio-tools")
    stubs = tempfile.TemporaryDirectory(prefix="tongban-contract-stubs-")
    with stubs:
        run_generated(checks, stubs.name)


def run_generated(checks: Checks, out_dir: str) -> None:
    """The scenario, with the stubs generated into `out_dir` (removed afterwards)."""
    import grpc

    generate_stubs(out_dir)
    common = importlib.import_module("tongban.common.v1.common_pb2")
    catalog = importlib.import_module("tongban.catalog.v1.catalog_pb2")
    catalog_grpc = importlib.import_module("tongban.catalog.v1.catalog_pb2_grpc")
    intake = importlib.import_module("tongban.intake.v1.intake_pb2")
    intake_grpc = importlib.import_module("tongban.intake.v1.intake_pb2_grpc")
    review = importlib.import_module("tongban.review.v1.review_pb2")
    review_grpc = importlib.import_module("tongban.review.v1.review_pb2_grpc")
    hotline = importlib.import_module("tongban.hotline.v1.hotline_pb2")
    hotline_grpc = importlib.import_module("tongban.hotline.v1.hotline_pb2_grpc")
    scope_name = common.Scope.Name
    status_name = common.CaseStatus.Name
    bound = float(os.environ.get("TONGBAN_CONTRACT_WAIT_SECS") or 60)

    intake_addr = endpoint("TONGBAN_INTAKE_URL", "127.0.0.1:50051")
    review_addr = endpoint("TONGBAN_REVIEW_URL", "127.0.0.1:50052")
    hotline_addr = endpoint("TONGBAN_HOTLINE_URL", "127.0.0.1:50055")
    print(f"    intake {intake_addr}, review {review_addr}, hotline {hotline_addr}")
    catalog_api = catalog_grpc.CatalogServiceStub(channel("TONGBAN_INTAKE_URL", "127.0.0.1:50051"))
    intake_api = intake_grpc.IntakeServiceStub(channel("TONGBAN_INTAKE_URL", "127.0.0.1:50051"))
    review_api = review_grpc.ReviewServiceStub(channel("TONGBAN_REVIEW_URL", "127.0.0.1:50052"))
    hotline_api = hotline_grpc.HotlineServiceStub(channel("TONGBAN_HOTLINE_URL", "127.0.0.1:50055"))

    step("签发令牌 / minting tokens with `tongban token mint`")
    clerk = mint("clerk", WINDOW, "窗口-契约")
    reviewer = mint("reviewer", "640100-gongan", "审批-契约")
    operator = mint("hotline", "140900-12345", "话务员-契约")
    checks.check("three tokens minted", all((clerk, reviewer, operator)))

    for matter, home, scope, office, regional in ROUTES:
        step(f"CatalogService.GetNotice / ResolveRoute: {matter} at {WINDOW} for home {home}")
        notice = call(
            "GetNotice",
            catalog_api.GetNotice,
            catalog.GetNoticeRequest(matter_code=matter, window_office_id=WINDOW, home_division=home),
            clerk,
        )
        checks.equal(f"{matter} notice: matter", notice.matter.code, matter)
        checks.equal(f"{matter} notice: scope", scope_name(notice.scope), scope)
        checks.equal(f"{matter} notice: responsible office", notice.responsible_office.id, office)
        checks.check(f"{matter} notice: printable text (zh, en)", bool(notice.text and notice.text_en))
        route = call(
            "ResolveRoute",
            catalog_api.ResolveRoute,
            catalog.ResolveRouteRequest(
                matter_code=matter, window_office_id=WINDOW, home_division=home
            ),
            clerk,
        )
        checks.equal(f"{matter} route: scope", scope_name(route.scope), scope)
        checks.equal(f"{matter} route: responsible office", route.responsible_office_id, office)
        checks.equal(f"{matter} route: agreement id set", bool(route.agreement_id), regional)

    step("IntakeService.SubmitCase: 跨省通办 GA-HJ-ZM, home 640104, window 140922-zwfw")
    submit = intake.SubmitCaseRequest(
        idempotency_key=f"contract-{uuid.uuid4()}",
        window_office_id=WINDOW,
        matter_code="GA-HJ-ZM",
        mode=common.MODE_ONLINE,
        applicant=common.Applicant(name=NAME, id_number=ID_NUMBER, phone=PHONE),
        home_division="640104",
        materials=[
            common.PresentedMaterial(
                material_code=code,
                form=common.MATERIAL_FORM_ELECTRONIC,
                sha256=SCAN_SHA256,
                pages=1,
            )
            for code in ("SFZ", "YTSM")
        ],
        delivery=common.Delivery(method=common.DELIVERY_METHOD_WINDOW_PICKUP),
    )
    accepted = call("SubmitCase", intake_api.SubmitCase, submit, clerk)
    print(f"    case {accepted.case_number} ({accepted.case_id}), {status_name(accepted.status)}")
    checks.check("case id and number returned", bool(accepted.case_id and accepted.case_number))
    checks.check(
        "case number starts with the window's division",
        accepted.case_number.startswith("140922-"),
        accepted.case_number,
    )
    checks.equal("submit: scope", scope_name(accepted.scope), "SCOPE_CROSS_PROVINCE")
    checks.equal("submit: responsible office", accepted.responsible_office_id, "640100-gongan")
    checks.check(
        "submit: due_at after accepted_at",
        accepted.due_at.ToDatetime() > accepted.accepted_at.ToDatetime(),
        f"accepted {accepted.accepted_at.ToJsonString()}, due {accepted.due_at.ToJsonString()}",
    )
    again = call("SubmitCase (same idempotency key)", intake_api.SubmitCase, submit, clerk)
    checks.equal("same idempotency key gives the same case", again.case_id, accepted.case_id)

    step("ReviewService.ListAssignments: the case reaches 640100-gongan")
    inbox = poll(
        "assignment listed",
        lambda: call(
            "ListAssignments",
            review_api.ListAssignments,
            review.ListAssignmentsRequest(office_id="640100-gongan"),
            reviewer,
        ),
        lambda resp: any(a.case_id == accepted.case_id for a in resp.assignments),
        bound,
    )
    assignment = next(a for a in inbox.assignments if a.case_id == accepted.case_id)
    checks.equal("assignment: case number", assignment.case_number, accepted.case_number)
    checks.equal("assignment: state", review.AssignmentState.Name(assignment.state), "ASSIGNMENT_STATE_ROUTED")
    checks.check(
        "assignment: applicant masked (no full ID number or phone)",
        ID_NUMBER not in str(assignment) and PHONE not in str(assignment),
    )

    step("ReviewService.ClaimCase")
    claimed = call(
        "ClaimCase", review_api.ClaimCase, review.ClaimCaseRequest(case_id=accepted.case_id), reviewer
    )
    checks.equal("claim: state", review.AssignmentState.Name(claimed.state), "ASSIGNMENT_STATE_CLAIMED")

    step("CatalogService.GetMatter + ReviewService.DecideCase: APPROVE with every review point passed")
    matter = call("GetMatter", catalog_api.GetMatter, catalog.GetMatterRequest(code="GA-HJ-ZM"), reviewer)
    required = [p.code for p in matter.review_points if p.required]
    checks.check("matter has required review points", bool(required))
    decided = call(
        "DecideCase",
        review_api.DecideCase,
        review.DecideCaseRequest(
            case_id=accepted.case_id,
            decision=common.DECISION_APPROVE,
            reason="材料齐全，符合条件 / complete and eligible",
            checklist=[
                common.ChecklistItem(review_point_code=p.code, passed=True, note="契约检查 / contract check")
                for p in matter.review_points
            ],
        ),
        reviewer,
    )
    checks.equal("decide: state", review.AssignmentState.Name(decided.state), "ASSIGNMENT_STATE_DECIDED")
    checks.equal("decide: decision", common.Decision.Name(decided.decision), "DECISION_APPROVE")

    step("IntakeService.GetCase: the window sees the case COMPLETED")
    case = poll(
        "case completed",
        lambda: call(
            "GetCase", intake_api.GetCase, intake.GetCaseRequest(case_id=accepted.case_id), clerk
        ),
        lambda c: c.status == common.CASE_STATUS_COMPLETED,
        bound,
    )
    checks.equal("case: status", status_name(case.status), "CASE_STATUS_COMPLETED")
    checks.equal("case: decision", common.Decision.Name(case.decision), "DECISION_APPROVE")
    checks.check(
        "case: applicant masked (no full ID number or phone)",
        ID_NUMBER not in str(case) and PHONE not in str(case) and bool(case.applicant.id_number_masked),
    )
    checks.check("case: timeline recorded", len(case.timeline) >= 2, f"{len(case.timeline)} entries")

    step("HotlineService.QueryCaseStatus with the last six characters of the ID number")
    view = poll(
        "hotline sees the case completed",
        lambda: _query_status(hotline_api, hotline, accepted.case_number, operator),
        lambda v: v is not None and v.status == common.CASE_STATUS_COMPLETED,
        bound,
    )
    checks.equal("hotline: case number", view.case_number, accepted.case_number)
    checks.equal("hotline: status", status_name(view.status), "CASE_STATUS_COMPLETED")
    checks.equal("hotline: responsible office", view.responsible_office_id, "640100-gongan")
    checks.check("hotline: stage in plain language", bool(view.stage))
    checks.check(
        "hotline: applicant name masked",
        view.applicant_name_masked != NAME and bool(view.applicant_name_masked),
        view.applicant_name_masked,
    )

    apis = {
        "catalog": catalog_api, "intake": intake_api, "review": review_api,
        "common": common, "catalog_pb": catalog, "intake_pb": intake, "review_pb": review,
    }
    run_joint(checks, apis, clerk, bound)
    run_bundle(checks, apis, clerk, bound)


def expect_error(what: str, rpc, request, token: str, code_name: str):
    """Calls `rpc` expecting it to fail with the gRPC status `code_name`; returns the error."""
    import grpc

    try:
        rpc(request, metadata=metadata(token), timeout=RPC_TIMEOUT)
    except grpc.RpcError as err:
        if err.code().name != code_name:
            raise ContractFailure(
                f"{what}: expected {code_name}, got {err.code().name}: {err.details()}"
            ) from err
        return err
    raise ContractFailure(f"{what}: expected {code_name}, but the call succeeded")


def electronic(common, codes):
    """Presented materials: an electronic scan of each code."""
    return [
        common.PresentedMaterial(
            material_code=code, form=common.MATERIAL_FORM_ELECTRONIC, sha256=SCAN_SHA256, pages=1
        )
        for code in codes
    ]


def _assignment_of(review_api, review, office: str, case_id: str, token: str):
    """The office's assignment of the case, or None while it has not arrived."""
    inbox = call(
        "ListAssignments",
        review_api.ListAssignments,
        review.ListAssignmentsRequest(office_id=office),
        token,
    )
    return next((a for a in inbox.assignments if a.case_id == case_id), None)


def run_joint(checks: Checks, apis: dict, clerk: str, bound: float) -> None:
    """多地联办: two offices, the second acting only after the first approved."""
    catalog_api, intake_api, review_api = apis["catalog"], apis["intake"], apis["review"]
    common, catalog, intake, review = (
        apis["common"], apis["catalog_pb"], apis["intake_pb"], apis["review_pb"]
    )
    state_name = review.AssignmentState.Name
    part_state = common.PartState.Name
    matter_code, home, destination = "GA-HJ-QY-GZDD", "640104", "140922"
    move_in, move_out = "140922-gongan", "640100-gongan"
    wutai = mint("reviewer", move_in, "审批-契约-五台")
    yinchuan = mint("reviewer", move_out, "审批-契约-银川")

    step(f"CatalogService.GetMatter / ResolveRoute: {matter_code} MODE_JOINT, home {home}, destination {destination}")
    matter = call("GetMatter", catalog_api.GetMatter, catalog.GetMatterRequest(code=matter_code), clerk)
    parts = {p.code: p for p in matter.parts}
    checks.equal("matter: parts", sorted(parts), ["QC", "QR"])
    checks.equal("matter: QC comes after QR", list(parts["QC"].after), ["QR"])
    route = call(
        "ResolveRoute",
        catalog_api.ResolveRoute,
        catalog.ResolveRouteRequest(
            matter_code=matter_code, window_office_id=WINDOW, home_division=home,
            mode=common.MODE_JOINT, destination_division=destination,
        ),
        clerk,
    )
    routed = {p.part_code: p.office_id for p in route.parts}
    checks.equal("route: each part's office", routed, {"QR": move_in, "QC": move_out})

    step("IntakeService.SubmitCase: MODE_JOINT without destination_division is INVALID_ARGUMENT")
    request = intake.SubmitCaseRequest(
        idempotency_key=f"contract-joint-{uuid.uuid4()}",
        window_office_id=WINDOW,
        matter_code=matter_code,
        mode=common.MODE_JOINT,
        applicant=common.Applicant(name=NAME, id_number=ID_NUMBER, phone=PHONE),
        home_division=home,
        materials=electronic(common, [m.code for m in matter.materials if m.required]),
        delivery=common.Delivery(method=common.DELIVERY_METHOD_WINDOW_PICKUP),
    )
    err = expect_error("SubmitCase (no destination)", intake_api.SubmitCase, request, clerk, "INVALID_ARGUMENT")
    checks.check(
        "missing destination refused, naming the field",
        "destination_division" in (err.details() or ""),
        err.details(),
    )

    step("IntakeService.SubmitCase: MODE_JOINT, destination 140922")
    request.idempotency_key = f"contract-joint-{uuid.uuid4()}"
    request.destination_division = destination
    accepted = call("SubmitCase", intake_api.SubmitCase, request, clerk)
    print(f"    case {accepted.case_number} ({accepted.case_id})")
    states = {p.part_code: part_state(p.state) for p in accepted.parts}
    checks.equal(
        "submit: part states", states, {"QR": "PART_STATE_ROUTED", "QC": "PART_STATE_WAITING"}
    )
    checks.equal("submit: responsible office is the first part's", accepted.responsible_office_id, move_in)

    def approve_part(code: str, reason: str, token: str) -> None:
        """The office of part `code` claims it and approves it with that part's review points."""
        call("ClaimCase", review_api.ClaimCase, review.ClaimCaseRequest(case_id=accepted.case_id), token)
        decided = call(
            "DecideCase",
            review_api.DecideCase,
            review.DecideCaseRequest(
                case_id=accepted.case_id,
                decision=common.DECISION_APPROVE,
                reason=reason,
                checklist=[
                    common.ChecklistItem(review_point_code=point, passed=True)
                    for point in parts[code].review_point_codes
                ],
            ),
            token,
        )
        checks.equal(f"{code}: decided", state_name(decided.state), "ASSIGNMENT_STATE_DECIDED")

    step(f"ReviewService: {move_out}'s part QC waits, its claim is FAILED_PRECONDITION")
    waiting = poll(
        f"part QC listed at {move_out}",
        lambda: _assignment_of(review_api, review, move_out, accepted.case_id, yinchuan),
        lambda a: a is not None,
        bound,
    )
    checks.equal("QC: part code", waiting.part_code, "QC")
    checks.equal("QC: state", state_name(waiting.state), "ASSIGNMENT_STATE_WAITING")
    checks.equal("QC: waiting_for names QR", list(waiting.waiting_for), [parts["QR"].name])
    err = expect_error(
        "ClaimCase (QC before QR)",
        review_api.ClaimCase,
        review.ClaimCaseRequest(case_id=accepted.case_id),
        yinchuan,
        "FAILED_PRECONDITION",
    )
    checks.check(
        "QC: claim refused, naming the part it waits for", parts["QR"].name in err.details(), err.details()
    )

    step(f"ReviewService: {move_in} claims and approves QR with QR's review points")
    first = poll(
        f"part QR listed at {move_in}",
        lambda: _assignment_of(review_api, review, move_in, accepted.case_id, wutai),
        lambda a: a is not None,
        bound,
    )
    checks.equal("QR: part code", first.part_code, "QR")
    checks.equal("QR: own review points", sorted(first.review_point_codes), sorted(parts["QR"].review_point_codes))
    checks.check("QR: the other part's office is not shown", move_out not in str(first))
    approve_part("QR", "符合迁入条件 / eligible to move in", wutai)

    step(f"ReviewService: {move_out} claims and approves QC")
    poll(
        "QC ready to claim",
        lambda: _assignment_of(review_api, review, move_out, accepted.case_id, yinchuan),
        lambda a: a is not None and a.state == review.ASSIGNMENT_STATE_ROUTED,
        bound,
    )
    approve_part("QC", "准予迁出 / moved out", yinchuan)

    step("IntakeService.GetCase: the joint case is COMPLETED with both parts approved")
    case = poll(
        "joint case completed",
        lambda: call("GetCase", intake_api.GetCase, intake.GetCaseRequest(case_id=accepted.case_id), clerk),
        lambda c: c.status == common.CASE_STATUS_COMPLETED
        and all(p.state == common.PART_STATE_APPROVED for p in c.parts),
        bound,
    )
    checks.equal("joint case: decision", common.Decision.Name(case.decision), "DECISION_APPROVE")
    checks.equal(
        "joint case: parts",
        {p.part_code: part_state(p.state) for p in case.parts},
        {"QR": "PART_STATE_APPROVED", "QC": "PART_STATE_APPROVED"},
    )
    checks.equal("joint case: destination", case.destination_division, destination)


def run_bundle(checks: Checks, apis: dict, clerk: str, bound: float) -> None:
    """一件事: one submission with the merged materials, one case per member."""
    catalog_api, intake_api = apis["catalog"], apis["intake"]
    common, catalog, intake = apis["common"], apis["catalog_pb"], apis["intake_pb"]
    code, home = "YJS-CS", "140922"

    step("CatalogService.ListBundles: 出生一件事 YJS-CS, each material once")
    listed = call("ListBundles", catalog_api.ListBundles, catalog.ListBundlesRequest(), clerk)
    bundles = {b.code: b for b in listed.bundles}
    checks.check("ListBundles has YJS-CS", code in bundles, str(sorted(bundles)))
    definition = bundles[code]
    material_codes = [m.material.code for m in definition.materials]
    checks.equal("YJS-CS: each material once", len(material_codes), len(set(material_codes)))
    shared = [m for m in definition.materials if len(m.matter_codes) > 1]
    checks.check("YJS-CS: a material shared by several members", bool(shared))
    checks.check(
        "YJS-CS: window pick-up allowed for every member",
        common.DELIVERY_METHOD_WINDOW_PICKUP in definition.delivery_methods,
    )

    step("CatalogService.GetBundleNotice: YJS-CS at the window, one-time notice with every member")
    notice = call(
        "GetBundleNotice",
        catalog_api.GetBundleNotice,
        catalog.GetBundleNoticeRequest(bundle_code=code, window_office_id=WINDOW, home_division=home),
        clerk,
    )
    checks.check("bundle notice: printable text (zh, en)", bool(notice.text and notice.text_en))
    checks.equal(
        "bundle notice: every member, in order",
        [m.matter_code for m in notice.members],
        list(definition.matter_codes),
    )
    checks.check(
        "bundle notice: every member routed to an office",
        all(m.responsible_office_id and not m.refusal for m in notice.members),
        str([(m.matter_code, m.responsible_office_id, m.refusal) for m in notice.members]),
    )
    checks.equal(
        "bundle notice: a shared material listed once in the text",
        notice.text.count(f"({shared[0].material.code}) — "),
        1,
    )

    step("IntakeService.SubmitBundle: YJS-CS, home 140922, the required materials once")
    request = intake.SubmitBundleRequest(
        idempotency_key=f"contract-bundle-{uuid.uuid4()}",
        window_office_id=WINDOW,
        bundle_code=code,
        mode=common.MODE_ONLINE,
        applicant=common.Applicant(name=NAME, id_number=ID_NUMBER, phone=PHONE),
        home_division=home,
        materials=electronic(common, [m.material.code for m in definition.materials if m.material.required]),
        delivery=common.Delivery(method=common.DELIVERY_METHOD_WINDOW_PICKUP),
    )
    bundle = call("SubmitBundle", intake_api.SubmitBundle, request, clerk)
    print(f"    bundle {bundle.bundle_number} ({bundle.bundle_id}), {len(bundle.cases)} cases")
    checks.check("bundle: number from the window's division", bundle.bundle_number.startswith("140922-"))
    checks.equal(
        "bundle: one case per member, in order",
        [c.matter_code for c in bundle.cases],
        list(definition.matter_codes),
    )
    numbers = [c.case_number for c in bundle.cases]
    checks.check("bundle: each member its own case number", len(set(numbers)) == len(numbers) and all(numbers))
    again = call("SubmitBundle (same key)", intake_api.SubmitBundle, request, clerk)
    checks.equal("same idempotency key gives the same bundle", again.bundle_id, bundle.bundle_id)

    step("IntakeService.GetBundle by number; GetCase of a member carries the bundle")
    fetched = call(
        "GetBundle", intake_api.GetBundle, intake.GetBundleRequest(bundle_number=bundle.bundle_number), clerk
    )
    checks.equal("GetBundle: same bundle", fetched.bundle_id, bundle.bundle_id)
    checks.equal("GetBundle: members", [c.case_number for c in fetched.cases], numbers)
    checks.equal(
        "GetBundle: derived status", common.BundleStatus.Name(fetched.status), "BUNDLE_STATUS_IN_PROGRESS"
    )
    member = call(
        "GetCase", intake_api.GetCase, intake.GetCaseRequest(case_id=bundle.cases[0].case_id), clerk
    )
    checks.equal("member case: its bundle", member.bundle.bundle_number, bundle.bundle_number)
    checks.equal("member case: bundle members", len(member.bundle.members), len(numbers))

    step("CatalogService.GetBundle: YJS-CS's CSZM is issued by a member, and who waits for it")
    provider, waiting = "WJ-CSYXZM-QF", ["WJ-SY-DJ", "GA-HJ-CSDJ", "YB-CB-CXJM"]
    got = call("GetBundle", catalog_api.GetBundle, catalog.GetBundleRequest(code=code), clerk)
    cszm = next((m for m in got.materials if m.material.code == "CSZM"), None)
    checks.check("GetBundle: lists CSZM", cszm is not None, str([m.material.code for m in got.materials]))
    if cszm is not None:
        checks.equal("GetBundle: CSZM provided_by", cszm.provided_by, provider)
        checks.check("GetBundle: CSZM not asked of the applicant", not cszm.material.required)
        checks.equal("GetBundle: CSZM needed by the waiting members", list(cszm.matter_codes), waiting)
    checks.equal(
        "GetBundle: CSZM is the only material a member issues",
        [m.material.code for m in got.materials if m.provided_by and m.material.code != "CSZM"],
        [],
    )
    checks.equal(
        "GetBundle: prerequisites (each waiting member after the provider, in order)",
        [(o.matter_code, list(o.after)) for o in got.prerequisites],
        [(m, [provider]) for m in waiting],
    )

    step("IntakeService.GetBundle: the waiting members are submitted, waiting for the provider")
    provider_name = next(c.matter_name for c in fetched.cases if c.matter_code == provider)
    summary = {m.matter_code: m for m in fetched.cases[0].bundle.members}
    checks.equal(
        "GetBundle: waiting members SUBMITTED with waiting_for",
        {m: (common.CaseStatus.Name(summary[m].status), list(summary[m].waiting_for)) for m in waiting if m in summary},
        {m: ("CASE_STATUS_SUBMITTED", [provider_name]) for m in waiting},
    )
    checks.equal(
        "GetBundle: the provider waits for none",
        list(summary[provider].waiting_for) if provider in summary else None,
        [],
    )


def _query_status(hotline_api, hotline, case_number: str, token: str):
    """The hotline's view, or None while its read model has not seen the case yet (NOT_FOUND)."""
    import grpc

    try:
        return hotline_api.QueryCaseStatus(
            hotline.QueryCaseStatusRequest(case_number=case_number, verification=ID_NUMBER[-6:]),
            metadata=metadata(token),
            timeout=RPC_TIMEOUT,
        )
    except grpc.RpcError as err:
        if err.code() == grpc.StatusCode.NOT_FOUND:
            return None
        raise ContractFailure(f"QueryCaseStatus failed: {err.code().name}: {err.details()}") from err


def main() -> int:
    checks = Checks()
    try:
        run(checks)
    except ContractFailure as err:
        if checks.failed == 0:
            checks.failed = 1
        sys.stdout.flush()
        print(f"错误 / error: 契约检查失败 / contract check failed: {err}", file=sys.stderr, flush=True)
        print(checks.summary())
        return 1
    except ImportError as err:
        print(
            f"错误 / error: 缺少 Python 依赖 / missing Python dependency: {err} "
            "(python3 -m pip install -r tests/contract/requirements.txt)",
            file=sys.stderr,
        )
        checks.failed = 1
        print(checks.summary())
        return 1
    print(checks.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
