"""Browser test of tongban-console in a real headless Chromium (Debian's /usr/bin/chromium,
driven by Playwright with executable_path; no browser is downloaded).

Clicks through the window clerk's flow (catalog, guide, form with the live ID check, route
preview, 受理通知书), the missing-material path (一次性告知书), the reviewer of the other
province's office seeing the case appear in the inbox without reloading, claiming and approving
it, the window seeing the result, a 12345 lookup with a wrong proof, the supervisor's dashboard
counting it, and the public pages without sign-in. Saves a screenshot of each screen in $TONGBAN_SCREENSHOTS. Prints
`browser: N passed, M failed` last.

Run through tests/browser/run.sh, which starts the services and the console.
"""

import os
import sys
import traceback

from playwright.sync_api import expect, sync_playwright

BASE = os.environ["TONGBAN_CONSOLE_URL"]
SHOTS = os.environ.get("TONGBAN_SCREENSHOTS", "var/screenshots/console")
CHROMIUM = os.environ.get("TONGBAN_CHROMIUM", "/usr/bin/chromium")
MATTER = "GA-HJ-ZM"  # 开具户籍类证明: a 五台 window, a 银川 applicant -> 跨省通办
HOME = "640104"
ID_NUMBER = "11010519491231002X"
TIMEOUT_MS = 30_000
AXE_JS = os.environ.get("TONGBAN_AXE_JS", "")
AXE_SOURCE = open(AXE_JS, encoding="utf-8").read() if AXE_JS else ""
# Screens audited with axe, and the serious or critical violations found on each.
audited = {}

passed = 0
failed = 0


def check(name, step):
    """Runs one step; a failure is counted and reported, and later steps still run."""
    global passed, failed
    try:
        step()
        passed += 1
        print(f"ok   {name}", flush=True)
    except Exception:  # noqa: BLE001 -- every failure of a step is the step failing
        failed += 1
        print(f"FAIL {name}", flush=True)
        traceback.print_exc()


def shot(page, name):
    """Saves a screenshot of the screen and audits it with axe (serious and critical only)."""
    page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)
    if AXE_SOURCE:
        # Evaluated through the DevTools protocol: the page's CSP does not apply to it.
        page.evaluate(AXE_SOURCE)
        result = page.evaluate("""async () => {
            const r = await axe.run(document, {resultTypes: ["violations"]});
            return r.violations
              .filter(v => v.impact === "serious" || v.impact === "critical")
              .map(v => `${v.id} (${v.impact}): ${v.nodes.map(n => n.target.join(" ")).join(", ")}`);
        }""")
        audited[name] = result


def sign_in(page, user, password):
    page.goto(f"{BASE}/login")
    page.get_by_label("用户名").fill(user)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()
    expect(page.locator("header .who")).to_be_visible()


def main():
    state = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        clerk = browser.new_context(locale="zh-CN").new_page()
        clerk.set_default_timeout(TIMEOUT_MS)

        def public_pages():
            page = browser.new_context(locale="zh-CN").new_page()
            page.goto(f"{BASE}/public/guide")
            expect(page.get_by_role("link", name="开具户籍类证明")).to_be_visible()
            shot(page, "01-public-guide")
            page.get_by_role("link", name="开具户籍类证明").click()
            page.get_by_label("户籍或所在地行政区划代码（6 位）").fill(HOME)
            page.get_by_role("button", name="生成告知清单").click()
            expect(page.locator("#notice-text")).to_be_visible()
            shot(page, "02-public-notice")
            page.goto(f"{BASE}/public/completed")
            expect(page.locator("table caption")).to_contain_text("办结公示")
            shot(page, "03-public-completed")
            page.context.close()

        def clerk_signs_in():
            sign_in(clerk, "wutai-clerk", "demo-clerk-2026")
            expect(clerk).to_have_url(f"{BASE}/window")
            shot(clerk, "04-window-cases")

        def clerk_accepts_cross_province_case():
            clerk.get_by_role("link", name="新办件：选择事项").click()
            clerk.get_by_role("link", name="开具户籍类证明").click()
            shot(clerk, "05-window-guide")
            clerk.get_by_role("link", name="按此事项受理登记").click()
            clerk.get_by_label("姓名").fill("王小明")
            clerk.get_by_label("身份证号").fill("110105194912310021")
            expect(clerk.locator("#id-check .bad")).to_be_visible()
            clerk.get_by_label("身份证号").fill(ID_NUMBER)
            expect(clerk.locator("#id-check .ok")).to_be_visible()
            clerk.get_by_label("手机号").fill("13812345678")
            clerk.get_by_label("户籍或所在地区划代码").fill(HOME)
            for box in clerk.locator("input[type=checkbox][name^=m_]").all():
                box.check()
            clerk.get_by_role("button", name="预览路由").click()
            expect(clerk.locator("#route-preview")).to_contain_text("银川市公安局")
            expect(clerk.locator("#route-preview")).to_contain_text("跨省通办")
            shot(clerk, "06-window-route-preview")
            clerk.get_by_role("button", name="确认受理").click()
            expect(clerk.locator("#receipt")).to_contain_text("受理通知书")
            state["number"] = clerk.locator("#case-number").inner_text().strip()
            state["receipt"] = clerk.url
            shot(clerk, "07-window-receipt")

        def missing_material_notice():
            clerk.goto(f"{BASE}/window/matters/{MATTER}/apply")
            clerk.get_by_label("姓名").fill("王小明")
            clerk.get_by_label("身份证号").fill(ID_NUMBER)
            clerk.get_by_label("手机号").fill("13812345678")
            clerk.get_by_label("户籍或所在地区划代码").fill(HOME)
            clerk.get_by_role("button", name="确认受理").click()
            notice = clerk.locator("#missing-notice")
            expect(notice).to_contain_text("一次性告知书")
            expect(notice.locator("ol.missing li")).not_to_have_count(0)
            expect(notice).to_contain_text("居民身份证")
            shot(clerk, "08-window-missing-notice")

        reviewer = browser.new_context(locale="zh-CN").new_page()
        reviewer.set_default_timeout(TIMEOUT_MS)

        def reviewer_opens_inbox():
            # Opened before the case exists: it must appear without a reload.
            sign_in(reviewer, "yinchuan-reviewer", "demo-review-2026")
            expect(reviewer).to_have_url(f"{BASE}/office")
            expect(reviewer.locator("#inbox-table")).to_be_visible()

        def reviewer_sees_claims_and_approves():
            # The inbox refreshed itself on the server-sent event from WatchAssignments.
            expect(reviewer).to_have_url(f"{BASE}/office")
            row = reviewer.get_by_role("link", name=state["number"])
            expect(row).to_be_visible()
            shot(reviewer, "09-office-inbox")
            row.click()
            reviewer.get_by_role("button", name="认领").click()
            for box in reviewer.locator("input[type=checkbox][name^=pass_]").all():
                box.check()
            reviewer.get_by_label("理由").fill("符合条件，准予办理")
            shot(reviewer, "10-office-review")
            reviewer.get_by_role("button", name="提交决定").click()
            expect(reviewer.locator("#case-decision")).to_contain_text("准予")
            shot(reviewer, "11-office-decided")

        def window_sees_result():
            def decided():
                clerk.goto(state["receipt"])
                return clerk.locator("#case-decision").count() > 0
            for _ in range(30):
                if decided():
                    break
                clerk.wait_for_timeout(1000)
            expect(clerk.locator("#case-decision")).to_contain_text("准予")
            shot(clerk, "12-window-result")

        def hotline_wrong_proof():
            operator = browser.new_context(locale="zh-CN").new_page()
            operator.set_default_timeout(TIMEOUT_MS)
            sign_in(operator, "hotline-operator", "demo-hotline-2026")
            operator.get_by_label("办件编号").fill(state["number"])
            operator.get_by_label("身份证号后六位或手机号后四位").fill("000000")
            operator.get_by_role("button", name="查询").click()
            expect(operator.locator("#lookup-error")).to_be_visible()
            expect(operator.locator("#lookup-result")).to_have_count(0)
            shot(operator, "13-hotline-wrong-proof")
            operator.context.close()

        def supervisor_dashboard():
            page = browser.new_context(locale="zh-CN").new_page()
            page.set_default_timeout(TIMEOUT_MS)
            sign_in(page, "wutai-supervisor", "demo-supervise-2026")
            expect(page).to_have_url(f"{BASE}/supervisor")
            for _ in range(30):
                if page.locator("#stats-table th[scope=row]", has_text="银川市公安局").count() > 0:
                    break
                page.wait_for_timeout(1000)
                page.reload()
            expect(page.locator("#stats-table th[scope=row]", has_text="银川市公安局")).to_be_visible()
            expect(page.locator("figure.chart svg rect")).not_to_have_count(0)
            shot(page, "14-supervisor-dashboard")
            page.context.close()

        def english_and_large_text():
            page = browser.new_context(locale="zh-CN").new_page()
            page.goto(f"{BASE}/public/guide")
            page.get_by_role("link", name="English").click()
            expect(page.locator("h1")).to_have_text("Service guide")
            page.get_by_role("link", name="Large text").click()
            expect(page.locator("body")).to_have_class("large")
            shot(page, "15-public-english-large")
            page.context.close()

        check("public guide, notice and 办结公示 without sign-in", public_pages)
        check("clerk signs in", clerk_signs_in)
        check("reviewer in 银川 opens the inbox", reviewer_opens_inbox)
        check("clerk accepts a 跨省 case and prints the 受理通知书", clerk_accepts_cross_province_case)
        check("missing materials give the 一次性告知书", missing_material_notice)
        if "number" in state:
            check(
                "reviewer in 银川 sees it appear without reloading, claims and approves",
                reviewer_sees_claims_and_approves,
            )
            check("the window sees the result", window_sees_result)
            check("12345 lookup with a wrong proof is refused", hotline_wrong_proof)
            check("the supervisor dashboard shows it", supervisor_dashboard)
        check("English and large text toggles", english_and_large_text)
        browser.close()

    def accessibility():
        if not AXE_SOURCE:
            raise AssertionError("axe-core not found (TONGBAN_AXE_JS)")
        serious = {name: found for name, found in audited.items() if found}
        for name, found in serious.items():
            for violation in found:
                print(f"     axe {name}: {violation}", flush=True)
        assert not serious, f"serious accessibility violations on {len(serious)} screen(s)"
        print(f"     axe audited {len(audited)} screens", flush=True)

    check("axe: no serious or critical violations on any screen", accessibility)


if __name__ == "__main__":
    try:
        main()
    except Exception:  # noqa: BLE001 -- a crash outside a step fails the run
        failed += 1
        traceback.print_exc()
    print(f"browser: {passed} passed, {failed} failed", flush=True)
    sys.exit(1 if failed else 0)
