"""Loads an audit-scan HTML report in headless Chromium (Playwright driving Debian's
/usr/bin/chromium) and prints what the page did as JSON: console messages, page errors,
network requests, dialogs, and what the DOM holds. Takes a full-page screenshot.

Usage: check_html.py REPORT.html SCREENSHOT.png
"""
import json
import os
import pathlib
import sys

from playwright.sync_api import sync_playwright

html, shot = sys.argv[1], sys.argv[2]
url = pathlib.Path(html).resolve().as_uri()
out = {"url": url, "console": [], "page_errors": [], "requests": [], "dialogs": []}

with sync_playwright() as p:
    browser = p.chromium.launch(
        executable_path=os.environ.get("AUDIT_SCAN_CHROMIUM", "/usr/bin/chromium"),
        args=[
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    )
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    page.on("console", lambda m: out["console"].append({"type": m.type, "text": m.text}))
    page.on("pageerror", lambda e: out["page_errors"].append(str(e)))
    page.on("request", lambda r: out["requests"].append(r.url))

    def on_dialog(d):
        out["dialogs"].append(d.message)
        d.dismiss()

    page.on("dialog", on_dialog)
    page.goto(url, wait_until="load")
    page.wait_for_timeout(500)
    out["dom"] = page.evaluate(
        """() => ({
        title: document.title,
        scripts: document.querySelectorAll('script').length,
        images: document.querySelectorAll('img, iframe, object, embed').length,
        on_handlers: [...document.querySelectorAll('*')]
            .filter(e => [...e.attributes].some(a => a.name.startsWith('on'))).length,
        charts: [...document.querySelectorAll('svg.chart')].map(s => ({
            points: Number(s.dataset.points),
            shapes: s.querySelectorAll('rect:not(.mark), path, circle').length,
            width: s.getBoundingClientRect().width,
        })),
        marks: document.querySelectorAll('rect.mark').length,
        // Charts on the time axis (not the horizontal bars): each must shade --mark.
        time_charts: [...document.querySelectorAll('svg.chart:not(.hbar)')].map(s => ({
            marks: s.querySelectorAll('rect.mark').length,
        })),
        // What the traffic chart draws: per column, its x and the stacked bars' total height.
        traffic_columns: [...document.querySelector('svg.chart').querySelectorAll(':scope > g')]
            .map(g => [...g.querySelectorAll('rect:not(.mark)')])
            .filter(rs => rs.length > 0)
            .map(rs => ({
                x: Number(rs[0].getAttribute('x')),
                height: rs.reduce((a, r) => a + Number(r.getAttribute('height')), 0),
            })),
        csp: (document.querySelector('meta[http-equiv="Content-Security-Policy"]') || {}).content || null,
        findings: [...document.querySelectorAll('#findings-table tr.finding')]
            .map(tr => [...tr.cells].map(td => td.firstChild ? td.firstChild.textContent : '')),
        list_user_agents: [...document.querySelectorAll('#lists-table tbody tr')]
            .map(tr => tr.cells[0].textContent),
        body_text: document.body.innerText,
        overflow_x: document.documentElement.scrollWidth > window.innerWidth,
    })"""
    )
    page.screenshot(path=shot, full_page=True)
    # The policy is in force, not only written: an injected inline script is refused. The
    # browser logs that refusal, so the console seen above is kept apart from it.
    out["console"] = list(out["console"])
    seen = len(out["console"])
    out["csp_probe"] = page.evaluate(
        """() => new Promise(done => {
        document.addEventListener('securitypolicyviolation', e => done(e.effectiveDirective), {once: true});
        const s = document.createElement('script');
        s.textContent = 'window.__auditScanRan = true';
        document.body.appendChild(s);
        setTimeout(() => done(window.__auditScanRan ? 'ran' : 'no violation'), 2000);
    })"""
    )
    out["console"] = out["console"][:seen]
    browser.close()

json.dump(out, sys.stdout)
