#!/usr/bin/python3
"""Real-browser test of the Orrery dashboard: headless Chromium driven by Selenium.

Logs in with the cluster token, then walks every page the way a reader would (through the nav
bar) and checks what each shows, using the data-testid attributes the pages carry for this test.
One line "ok: <step> ..." per step; on the first failure it names the step, the page URL, what
was expected and what was seen, saves failure-<step>.png and exits 1.

Run with Debian's python (/usr/bin/python3), which has python3-selenium; Debian's chromium and
chromium-driver provide the browser and /usr/bin/chromedriver. See tests/dashboard/README.md.

HTTPS with --ca-file: Python's ssl module verifies the server's certificate against the CA file
for the name orrery.cluster (the certificate's only name), then Chromium is started with
--host-resolver-rules mapping orrery.cluster to the server's address and
--ignore-certificate-errors-spki-list pinning exactly the public key just verified; the browser
opens https://orrery.cluster:<port>/. So the browser trusts the server only because the CA
signed its certificate, without touching any system or profile trust store.
"""

import argparse
import base64
import hashlib
import http.client
import ipaddress
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import traceback
import urllib.parse

try:
    from selenium import webdriver
    from selenium.common.exceptions import (JavascriptException, NoSuchElementException,
                                            StaleElementReferenceException, TimeoutException,
                                            WebDriverException)
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    import headless_chromium
except ImportError as err:  # the pyenv python on PATH has no selenium
    sys.exit("browser_test: cannot import selenium (%s); run with /usr/bin/python3 and install "
             "python3-selenium chromium chromium-driver (scripts/install-deps.sh)" % err)

kTlsName = "orrery.cluster"
kIgnored = (StaleElementReferenceException, NoSuchElementException, JavascriptException)


class StepFailed(Exception):
    def __init__(self, step, expected, seen):
        super().__init__("%s: expected %s; seen %s" % (step, expected, seen))
        self.step = step
        self.expected = expected
        self.seen = seen


def log(line):
    print(line, flush=True)


# ---- TLS: verify the server against the CA, pin its key in the browser ----------------------

def _der_item(der, pos):
    """(tag, content start, end) of the DER item at pos."""
    tag = der[pos]
    length = der[pos + 1]
    header = 2
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(der[pos + 2:pos + 2 + count], "big")
        header += count
    return tag, pos + header, pos + header + length


def spki_of_certificate(der):
    """The DER SubjectPublicKeyInfo of a DER X.509 certificate (RFC 5280 4.1)."""
    _, start, _ = _der_item(der, 0)          # Certificate ::= SEQUENCE
    _, pos, _ = _der_item(der, start)        # tbsCertificate ::= SEQUENCE
    tag, _, end = _der_item(der, pos)
    if tag == 0xA0:                          # [0] EXPLICIT version
        pos = end
    for _ in range(5):                       # serial, signature, issuer, validity, subject
        _, _, pos = _der_item(der, pos)
    tag, _, end = _der_item(der, pos)
    if tag != 0x30:
        raise ValueError("no SubjectPublicKeyInfo where RFC 5280 puts it")
    return der[pos:end]


def resolve(host, port):
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][4][0]


class PinnedHttpsConnection(http.client.HTTPSConnection):
    """Connects to an address but checks the certificate for another name (orrery.cluster)."""

    def __init__(self, address, port, tls_name, context, timeout):
        super().__init__(address, port, context=context, timeout=timeout)
        self.tls_name = tls_name

    def connect(self):
        http.client.HTTPConnection.connect(self)
        self.sock = self._context.wrap_socket(self.sock, server_hostname=self.tls_name)


class Target:
    """Where the browser goes, and how this script itself reaches the same server."""

    def __init__(self, url, ca_file, tls_name, timeout):
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise StepFailed("setup", "an http:// or https:// --url", repr(url))
        self.scheme = parsed.scheme
        self.host = parsed.hostname
        self.port = parsed.port or (443 if self.scheme == "https" else 80)
        self.path = parsed.path or "/"
        self.timeout = timeout
        self.tls_name = None
        self.context = None
        self.browser_args = []
        self.address = self.host
        browser_host = self.host
        if self.scheme == "https" and ca_file:
            self.tls_name = tls_name
            self.address = resolve(self.host, self.port)
            self.context = ssl.create_default_context(cafile=ca_file)
            self.context.check_hostname = True
            self.context.verify_mode = ssl.CERT_REQUIRED
            try:
                with socket.create_connection((self.address, self.port), timeout=timeout) as raw:
                    with self.context.wrap_socket(raw, server_hostname=tls_name) as tls:
                        der = tls.getpeercert(binary_form=True)
            except (ssl.SSLError, ssl.CertificateError) as err:
                raise StepFailed("tls", "a certificate for %s signed by the CA in %s" % (tls_name, ca_file),
                                 "%s from %s:%d" % (err, self.address, self.port))
            except OSError as err:
                raise StepFailed("tls", "a TLS server at %s:%d" % (self.address, self.port), str(err))
            self.spki_sha256 = base64.b64encode(hashlib.sha256(spki_of_certificate(der)).digest()).decode()
            mapped = "[%s]" % self.address if ":" in self.address else self.address
            self.browser_args = [
                "--host-resolver-rules=MAP %s %s" % (tls_name, mapped),
                "--ignore-certificate-errors-spki-list=%s" % self.spki_sha256,
            ]
            browser_host = tls_name
            self.tls_note = ("certificate for %s verified against %s; browser pins SPKI sha256/%s and maps %s to %s"
                             % (tls_name, ca_file, self.spki_sha256, tls_name, self.address))
        elif self.scheme == "https":
            self.context = ssl.create_default_context()
            self.tls_note = "no --ca-file: the system's trust store decides"
        else:
            self.tls_note = "plain HTTP"
        netloc = browser_host if ":" not in browser_host else "[%s]" % browser_host
        self.origin = "%s://%s:%d" % (self.scheme, netloc, self.port)

    def url(self, path):
        return self.origin + path

    def request(self, method, path, cookies=None):
        """(status, body) of a request made by this script, not the browser."""
        if self.scheme == "https":
            if self.tls_name:
                conn = PinnedHttpsConnection(self.address, self.port, self.tls_name, self.context, self.timeout)
            else:
                conn = http.client.HTTPSConnection(self.host, self.port, context=self.context, timeout=self.timeout)
        else:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        headers = {"Accept": "application/json", "Host": urllib.parse.urlsplit(self.origin).netloc}
        if cookies:
            headers["Cookie"] = "; ".join("%s=%s" % (c["name"], c["value"]) for c in cookies)
        try:
            conn.request(method, path, headers=headers)
            response = conn.getresponse()
            return response.status, response.read(300).decode("utf-8", "replace")
        finally:
            conn.close()


# ---- The browser ----------------------------------------------------------------------------

def start_browser(target, profile_dir):
    return headless_chromium.start(profile_dir, target.browser_args, {"goog:loggingPrefs": {"browser": "ALL"}})


class Dashboard:
    def __init__(self, driver, target, args, shots_dir):
        self.driver = driver
        self.target = target
        self.args = args
        self.timeout = args.timeout_s
        self.shots_dir = shots_dir
        self.save_shots = bool(args.screenshots)

    # ---- small DOM helpers ----

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def path(self):
        return self.js("return location.pathname")

    def banner(self):
        return self.js("const b = document.querySelector('[data-testid=error-banner]');"
                       "return b && !b.hidden ? b.textContent : null;")

    def page_summary(self):
        try:
            info = self.js("""
                const b = document.querySelector('[data-testid=error-banner]');
                return {url: location.href, title: document.title,
                        page: document.body && document.body.getAttribute('data-page'),
                        banner: b && !b.hidden ? b.textContent : null,
                        text: document.body ? document.body.innerText.slice(0, 300) : ''};""")
        except WebDriverException as err:
            return "(page not readable: %s)" % err.msg
        summary = "page %s (title %r, data-page=%s)" % (info["url"], info["title"], info["page"])
        if info["banner"]:
            summary += ", error banner: %r" % info["banner"]
        return summary + ", text: %r" % re.sub(r"\s+", " ", info["text"])

    def count_visible(self, testid):
        return sum(1 for e in self.driver.find_elements(By.CSS_SELECTOR, "[data-testid=%s]" % testid) if e.is_displayed())

    def wait(self, step, expected, condition, seen=None, timeout=None):
        """condition() until truthy, up to --timeout-s; StepFailed with what was seen otherwise."""
        try:
            return WebDriverWait(self.driver, timeout or self.timeout, poll_frequency=0.2,
                                 ignored_exceptions=kIgnored).until(lambda _: condition())
        except TimeoutException:
            detail = ""
            if seen:
                try:
                    detail = str(seen()) + "; "
                except Exception as err:  # what was seen is only for the message
                    detail = "(%s); " % err
            raise StepFailed(step, expected + " within %ss" % (timeout or self.timeout), detail + self.page_summary())

    def shot(self, name):
        if self.save_shots:
            self.driver.save_screenshot(os.path.join(self.shots_dir, name + ".png"))

    def check_page_health(self, step):
        """No error banner, no API value run as markup, no script error or CSP refusal."""
        banner = self.banner()
        if banner:
            raise StepFailed(step, "no error banner", "banner %r on %s" % (banner, self.driver.current_url))
        if self.js("return window.pwned !== undefined"):
            raise StepFailed(step, "API values shown as text", "window.pwned was set: markup from the API ran")
        try:
            entries = self.driver.get_log("browser")
        except WebDriverException:
            entries = []
        for entry in entries:
            message = entry.get("message", "")
            if entry.get("level") != "SEVERE":
                continue
            if "Uncaught" in message or "Content Security Policy" in message or "Refused to" in message:
                raise StepFailed(step, "no script error or CSP refusal in the console", message)
            if " 401 " in message or "status of 401" in message:
                continue  # the not-logged-in redirect and the post-logout check
            log("warn: %s: console: %s" % (step, message))

    def go(self, step, page, path):
        """Opens a page through the nav bar and waits until it is there."""
        link = self.wait(step, "nav link [data-testid=nav-%s]" % page,
                         lambda: self.driver.find_element(By.CSS_SELECTOR, "[data-testid=nav-%s]" % page))
        link.click()
        self.wait(step, "page %s (data-page=%s)" % (path, page),
                  lambda: self.js("return location.pathname === arguments[0] && document.readyState === 'complete'"
                                  " && document.body.getAttribute('data-page') === arguments[1]", path, page))

    def table_rendered(self, testid):
        """The DataTable has had its first rows (or its empty row) put in."""
        return self.js("return document.querySelectorAll('table[data-testid=%s] tbody tr').length > 0" % testid)

    # ---- the steps ----

    def login(self):
        step = "login"
        self.driver.get(self.target.url(self.target.path))
        self.wait(step, "a redirect to /login with the token form (not logged in yet)",
                  lambda: self.path() == "/login" and self.count_visible("token") == 1)
        landed = self.driver.current_url
        self.shot("login")
        self.driver.find_element(By.CSS_SELECTOR, "[data-testid=token]").send_keys(self.args.token)
        self.driver.find_element(By.CSS_SELECTOR, "[data-testid=login]").click()

        def logged_in():
            error = self.js("const e = document.querySelector('[data-testid=login-error]');"
                            "return e && !e.hidden ? e.textContent : null;")
            if error:
                raise StepFailed(step, "the token accepted", "login error %r" % error)
            return self.path() != "/login" and self.js("return document.body.getAttribute('data-page')") == "overview"
        self.wait(step, "the overview after logging in", logged_in)
        log("ok: login (not logged in, %s landed on %s; token accepted, now on %s)"
            % (self.target.url(self.target.path), landed, self.driver.current_url))

    def overview(self):
        step = "overview"
        wanted = self.args.nodes

        def cards():
            return [(e.get_attribute("data-state"), e) for e in
                    self.driver.find_elements(By.CSS_SELECTOR, "[data-testid=node-card]") if e.is_displayed()]
        self.wait(step, "exactly %d visible node cards ([data-testid=node-card])" % wanted,
                  lambda: len(cards()) == wanted,
                  seen=lambda: "%d node cards, states %s" % (len(cards()), [s for s, _ in cards()]))
        states = [s for s, _ in cards()]
        for state, card in cards():
            if state != "ALIVE" and not card.find_elements(By.CSS_SELECTOR, "[data-testid=death-reason]"):
                raise StepFailed(step, "a death reason on the %s node's card" % state, card.text)
        heads = self.count_visible("head-marker")

        def totals():
            return self.js("""
                const v = (id) => { const e = document.querySelector('[data-testid=' + id + '] .stat-value');
                                    return e ? e.textContent : null; };
                const bars = Array.from(document.querySelectorAll('[data-testid=cluster-totals] .bar-row'))
                    .map((r) => r.getAttribute('data-resource') + ' ' + r.querySelector('.bar-text').textContent);
                return {alive: v('nodes-alive'), dead: v('nodes-dead'), workers: v('workers-total'), bars: bars,
                        info: document.querySelector('[data-testid=cluster-info]').textContent};""")

        def totals_shown():
            t = totals()
            if t["alive"] is None or t["dead"] is None or t["workers"] is None:
                return None
            alive, dead = int(t["alive"].replace(",", "")), int(t["dead"].replace(",", ""))
            if alive + dead != wanted or (alive > 0 and not t["bars"]) or not t["info"]:
                return None
            return t
        t = self.wait(step, "cluster totals (nodes-alive + nodes-dead = %d, resource bars, cluster info)" % wanted,
                      totals_shown, seen=totals)
        self.check_page_health(step)
        self.shot("overview")
        log("ok: overview (%d node cards %s, %d head; totals: %s alive, %s dead, %s workers; %s; %s)"
            % (len(states), states, heads, t["alive"], t["dead"], t["workers"], ", ".join(t["bars"]), t["info"]))

    def jobs(self):
        step = "jobs"
        self.go(step, "jobs", "/jobs")
        self.wait(step, "the jobs table filled ([data-testid=jobs-table] rows)", lambda: self.table_rendered("jobs-table"))
        substring = self.args.job_entrypoint_substring
        if not substring:
            self.check_page_health(step)
            self.shot("jobs")
            log("ok: jobs (table shows %d job rows; no job to follow: no --job-entrypoint-substring)"
                % self.count_visible("job-row"))
            return

        def matching():
            return self.js("""
                return Array.from(document.querySelectorAll('[data-testid=job-row]'))
                    .filter((r) => r.textContent.includes(arguments[0]))
                    .map((r) => ({id: r.getAttribute('data-submission-id') || r.getAttribute('data-job-id'),
                                  state: r.getAttribute('data-state')}));""", substring)
        before = set(j["id"] for j in matching()) if self.args.submit_command else set()
        process = None
        if self.args.submit_command:
            log("running: %s" % self.args.submit_command)
            process = subprocess.Popen(self.args.submit_command, shell=True, start_new_session=True,
                                       stdout=sys.stdout, stderr=subprocess.STDOUT)
            self.process = process

        def job():
            for j in matching():
                if j["id"] not in before:
                    return j
            if process is not None and process.poll() not in (None, 0):
                raise StepFailed(step, "a job row whose entrypoint contains %r" % substring,
                                 "the submit command exited with %d before one appeared" % process.returncode)
            return None
        found = self.wait(step, "a %sjob row whose entrypoint contains %r" % ("new " if before else "", substring), job,
                          seen=lambda: "job rows with it: %s (there before: %s)" % (matching(), sorted(before)))
        job_id = found["id"]

        def succeeded():
            j = [j for j in matching() if j["id"] == job_id]
            state = j[0]["state"] if j else None
            if state in ("FAILED", "STOPPED"):
                raise StepFailed(step, "job %s to reach SUCCEEDED" % job_id, "state %s" % state)
            return state == "SUCCEEDED"
        self.wait(step, "job %s in state SUCCEEDED" % job_id, succeeded, seen=lambda: "job rows: %s" % matching())

        # A click on the row (not on a link or button in it) opens its driver log.
        row_selector = ("[data-testid=job-row][data-submission-id='%s'], [data-testid=job-row][data-job-id='%s']"
                        % (job_id, job_id))

        def click_row():
            row = self.driver.find_element(By.CSS_SELECTOR, row_selector)
            row.find_elements(By.TAG_NAME, "td")[2].click()  # the state cell: a badge, no link
            return True
        self.wait(step, "job %s's row clickable" % job_id, click_row)
        log_note = "the page offers no log panel"
        submission = self.js("const r = document.querySelector(arguments[0]);"
                             "return r && r.getAttribute('data-submission-id');", row_selector)
        if not submission:
            log_note = "no driver log: the job was not submitted through the job API"
        elif self.driver.find_elements(By.CSS_SELECTOR, "[data-testid=job-log-panel]"):
            def log_shown():
                panel = self.driver.find_element(By.CSS_SELECTOR, "[data-testid=job-log-panel]")
                text = self.driver.find_element(By.CSS_SELECTOR, "[data-testid=job-log]").text
                return panel.is_displayed() and text.strip() and text
            status = lambda: self.driver.find_element(By.CSS_SELECTOR, "[data-testid=job-log-status]").text
            text = self.wait(step, "job %s's driver log text in [data-testid=job-log]" % job_id, log_shown,
                             seen=lambda: "log status %r" % status())
            first = text.strip().splitlines()[0]
            log_note = "driver log shows %d lines, first %r, status %r" % (len(text.strip().splitlines()), first[:80], status())
        self.check_page_health(step)
        self.shot("jobs")
        log("ok: jobs (job %s with %r in its entrypoint reached SUCCEEDED; %s)" % (job_id, substring, log_note))

    def actors(self):
        step = "actors"
        self.go(step, "actors", "/actors")
        self.wait(step, "at least one actor row ([data-testid=actor-row])", lambda: self.count_visible("actor-row") > 0)
        self.check_page_health(step)
        self.shot("actors")
        rows = self.count_visible("actor-row")

        def open_first():
            # The table re-renders when a poll brings new data: find, read and click in one go.
            row = self.driver.find_element(By.CSS_SELECTOR, "[data-testid=actor-row]")
            picked = (row.get_attribute("data-actor-id"), row.get_attribute("data-state"))
            row.find_elements(By.TAG_NAME, "td")[3].click()  # the state cell; a click on the row opens the actor
            return picked
        actor_id, listed_state = self.wait(step, "the first actor row clickable", open_first)
        log("ok: actors (%d actor rows; opened %s, listed %s)" % (rows, actor_id, listed_state))

        step = "actor"
        self.wait(step, "the page /actors/%s after clicking its row" % actor_id,
                  lambda: self.path() == "/actors/" + actor_id and self.js("return document.readyState") == "complete")

        def fields():
            return self.js("""
                const out = {};
                for (const dt of document.querySelectorAll('[data-testid=actor-fields] dt')) {
                  const dd = dt.nextElementSibling;
                  out[dt.textContent] = dd ? dd.textContent : null;
                }
                return out;""")
        shown = self.wait(step, "actor fields with actor id %s and a state" % actor_id,
                          lambda: (lambda f: f if f.get("actor id") == actor_id and f.get("state") not in (None, "", "\u2014") else None)(fields()),
                          seen=lambda: "fields %s" % fields())
        if actor_id not in self.driver.find_element(By.ID, "actor-title").text:
            raise StepFailed(step, "the title naming %s" % actor_id, self.driver.find_element(By.ID, "actor-title").text)
        self.wait(step, "the actor's task table filled", lambda: self.table_rendered("actor-tasks-table"))
        death = self.driver.find_elements(By.CSS_SELECTOR, "[data-testid=actor-death-message]")
        death_note = ", death message shown" if death and death[0].is_displayed() and death[0].text else ""
        self.check_page_health(step)
        self.shot("actor")
        log("ok: actor (page /actors/%s shows id and state %s, class %s, %d task rows%s)"
            % (actor_id, shown["state"], shown.get("class"), self.count_visible("actor-task-row"), death_note))

    def tasks(self):
        step = "tasks"
        self.go(step, "tasks", "/tasks")

        def summary():
            return self.js("""
                const rows = Array.from(document.querySelectorAll('[data-testid=task-summary-row]'));
                const states = Array.from(document.querySelectorAll('[data-testid=state-count]'))
                    .map((c) => c.getAttribute('data-state') + ' ' + c.querySelector('.stat-value').textContent);
                return {functions: rows.map((r) => r.getAttribute('data-function')), states: states};""")
        s = self.wait(step, "counts by function ([data-testid=task-summary-row]) and by state ([data-testid=state-count])",
                      lambda: (lambda v: v if v["functions"] and v["states"] else None)(summary()),
                      seen=lambda: summary())
        self.wait(step, "the failed tasks table filled", lambda: self.table_rendered("failed-tasks-table"))
        failure_note = "%d failed-task rows" % self.count_visible("failed-task-row")
        wanted = self.args.failed_error_substring
        if wanted:
            find = ("return Array.from(document.querySelectorAll('[data-testid=failed-task-row] [data-testid=task-error]'))"
                    ".find((e) => e.textContent.includes(arguments[0])) || null;")
            errors = lambda: self.js("return Array.from(document.querySelectorAll('[data-testid=task-error]'))"
                                     ".slice(0, 5).map((e) => e.textContent.slice(0, 120));")
            pre = self.wait(step, "a failed task whose error text contains %r" % wanted, lambda: self.js(find, wanted),
                            seen=lambda: "%d failed-task rows, first errors %s" % (self.count_visible("failed-task-row"), errors()))

            def expanded():
                pre = self.js(find, wanted)
                toggle = self.js("const c = arguments[0].closest('td');"
                                 "return c.querySelector('[data-testid=task-error-toggle]');", pre)
                if toggle is not None and "clamped" in (pre.get_attribute("class") or ""):
                    toggle.click()
                    return None
                # Selenium's text is what is rendered; the clamp would have cut the text off.
                clipped = self.js("return arguments[0].scrollHeight > arguments[0].clientHeight + 1", pre)
                return pre if pre.is_displayed() and wanted in pre.text and not clipped else None
            pre = self.wait(step, "the error text with %r visible (expanded if the page clamps it)" % wanted, expanded)
            # For the screenshot: the row in the middle of the window, the table scrolled back left.
            self.js("const box = arguments[0].closest('.table-scroll'); if (box) box.scrollLeft = 0;"
                    "const top = arguments[0].closest('tr').getBoundingClientRect().top;"
                    "window.scrollBy(0, top - window.innerHeight / 3);", pre)
            failure_note += "; error with %r shown in full (%d lines)" % (wanted, len(pre.text.splitlines()))
        self.check_page_health(step)
        self.shot("tasks")
        log("ok: tasks (%d functions %s; by state %s; %s)"
            % (len(s["functions"]), [f[:40] for f in s["functions"][:5]], ", ".join(s["states"]), failure_note))

    def timeline(self):
        step = "timeline"
        self.go(step, "timeline", "/timeline")

        def state():
            return self.js("""
                const count = document.querySelector('[data-testid=timeline-count]').textContent;
                const total = document.querySelector('[data-testid=timeline-total]').textContent;
                const status = document.querySelector('[data-testid=timeline-status]').textContent;
                const canvas = document.querySelector('canvas[data-testid=timeline]');
                let painted = 0;
                if (canvas.width > 0 && canvas.height > 0) {
                  // Pixels neither blank nor white right of the lane labels: the task boxes.
                  const gutter = Math.round(170 * (window.devicePixelRatio || 1)) + 2;
                  const axis = Math.round(26 * (window.devicePixelRatio || 1));
                  const w = canvas.width - gutter, h = canvas.height - axis;
                  if (w > 0 && h > 0) {
                    const data = canvas.getContext('2d').getImageData(gutter, axis, w, h).data;
                    for (let i = 0; i < data.length; i += 4) {
                      if (data[i + 3] > 0 && (data[i] < 235 || data[i + 1] < 235 || data[i + 2] < 235)) painted++;
                    }
                  }
                }
                return {count: count, total: total, status: status, width: canvas.width, height: canvas.height,
                        painted: painted};""")

        def drawn():
            s = state()
            if s["status"] == "could not load the timeline":
                raise StepFailed(step, "the timeline loaded", "status %r, banner %r" % (s["status"], self.banner()))
            return s if int(s["count"].replace(",", "") or 0) > 0 and s["painted"] > 0 else None
        s = self.wait(step, "timeline-count > 0 and task boxes painted on the canvas", drawn, seen=state)
        self.check_page_health(step)
        self.shot("timeline")
        log("ok: timeline (%s runs drawn of %s; canvas %dx%d with %d painted pixels)"
            % (s["count"], s["total"], s["width"], s["height"], s["painted"]))

    def objects(self):
        step = "objects"
        self.go(step, "objects", "/objects")
        self.wait(step, "object totals ([data-testid=object-references]) and both tables filled",
                  lambda: self.count_visible("object-references") == 1 and self.table_rendered("object-owners-table")
                  and self.table_rendered("objects-table"))
        self.check_page_health(step)
        references = self.driver.find_element(By.CSS_SELECTOR, "[data-testid=object-references] .stat-value").text
        self.shot("objects")
        log("ok: objects (%s references, %d owner rows, %d reference rows shown, no error banner)"
            % (references, self.count_visible("object-owner-row"), self.count_visible("object-row")))

    def placement_groups(self):
        step = "placement_groups"
        self.go(step, "placement_groups", "/placement_groups")
        self.wait(step, "the placement groups table filled", lambda: self.table_rendered("placement-groups-table"))
        self.check_page_health(step)
        states = self.js("return Array.from(document.querySelectorAll('[data-testid=placement-group-row]'))"
                         ".map((r) => r.getAttribute('data-state'))")
        self.shot("placement_groups")
        log("ok: placement_groups (%d rows %s, no error banner)" % (len(states), states[:10]))

    def logs(self):
        step = "logs"
        self.go(step, "logs", "/logs")

        def state():
            return self.js("""
                const q = (id) => document.querySelector('[data-testid=' + id + ']');
                return {nodes: q('log-node').options.length, files: q('log-file').options.length,
                        file: q('log-file').value, status: q('log-status').textContent,
                        text: q('log-text').textContent.length};""")
        s = self.wait(step, "a node listed, and its log file read (status neither empty nor loading)",
                      lambda: (lambda v: v if v["nodes"] > 0 and v["status"] and not v["status"].startswith("loading") else None)(state()),
                      seen=state)
        self.check_page_health(step)
        self.shot("logs")
        log("ok: logs (%d nodes, %d files; %s: %d characters shown, status %r)"
            % (s["nodes"], s["files"], s["file"] or "(no file)", s["text"], s["status"]))

    def logout(self):
        step = "logout"
        cookies = self.driver.get_cookies()
        self.driver.find_element(By.CSS_SELECTOR, "[data-testid=logout]").click()
        self.wait(step, "the login page after logging out",
                  lambda: self.path() == "/login" and self.count_visible("token") == 1)
        status = self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "fetch('/api/v0/nodes', {credentials: 'same-origin', headers: {Accept: 'application/json'}})"
            ".then((r) => done(r.status), (e) => done('fetch failed: ' + e));")
        if status != 401:
            raise StepFailed(step, "GET /api/v0/nodes from the browser answering 401 after logout", "answer %s" % status)
        notes = ["browser's GET /api/v0/nodes: 401"]
        # The old session cookie, replayed by this script, must be dead on the server too.
        if cookies:
            replay, body = self.target.request("GET", "/api/v0/nodes", cookies=cookies)
            if replay != 401:
                raise StepFailed(step, "GET /api/v0/nodes with the pre-logout cookie (%s) answering 401"
                                 % ", ".join(c["name"] for c in cookies), "answer %d %r" % (replay, body[:100]))
            flags = ["%s%s%s%s" % (c["name"], " HttpOnly" if c.get("httpOnly") else "", " Secure" if c.get("secure") else "",
                                   " SameSite=" + c["sameSite"] if c.get("sameSite") else "") for c in cookies]
            notes.append("old cookie [%s] replayed: 401" % "; ".join(flags))
            if self.target.scheme == "https" and not all(c.get("secure") for c in cookies):
                log("warn: logout: a session cookie over HTTPS without Secure: %s" % flags)
        plain, _ = self.target.request("GET", "/api/v0/nodes")
        if plain != 401:
            raise StepFailed(step, "GET /api/v0/nodes without a cookie answering 401", "answer %d" % plain)
        notes.append("no cookie: 401")
        self.driver.get(self.target.url("/"))
        self.wait(step, "/ sending the logged-out browser to /login", lambda: self.path() == "/login")
        log("ok: logout (back on /login; %s; / redirects to /login again)" % "; ".join(notes))


def parse_args(argv):
    parser = argparse.ArgumentParser(description="Real-browser test of the Orrery dashboard (headless Chromium).")
    parser.add_argument("--url", required=True, help="the dashboard, e.g. http://127.0.0.1:8266/ or https://10.0.0.1:8265/")
    parser.add_argument("--token", required=True, help="the cluster token (the session's 'token' file)")
    parser.add_argument("--ca-file", help="the cluster CA (<session>/tls/ca.crt): the only thing an https server is trusted by")
    parser.add_argument("--tls-server-name", default=kTlsName, help="the name in the server certificate (default %(default)s)")
    parser.add_argument("--nodes", type=int, default=3, help="node cards the overview must show, dead ones included (default 3)")
    parser.add_argument("--submit-command", help="shell command that submits a job (run in the background, output to stdout)")
    parser.add_argument("--job-entrypoint-substring",
                        help="the job to wait for: its entrypoint contains this; with --submit-command a job that "
                             "was not listed before; without, any listed job")
    parser.add_argument("--failed-error-substring", help="text a failed task's error on the tasks page must show")
    parser.add_argument("--screenshots", help="folder for the page screenshots (and failure-<step>.png)")
    parser.add_argument("--timeout-s", type=float, default=60, help="how long each wait may take (default 60)")
    args = parser.parse_args(argv)
    if args.submit_command and not args.job_entrypoint_substring:
        parser.error("--submit-command needs --job-entrypoint-substring (which job row to wait for)")
    if args.ca_file and not os.path.isfile(args.ca_file):
        parser.error("--ca-file %s: no such file" % args.ca_file)
    return args


def main(argv):
    args = parse_args(argv)
    shots_dir = args.screenshots or tempfile.mkdtemp(prefix="orrery-dashboard-shots-")
    os.makedirs(shots_dir, exist_ok=True)
    profile_dir = tempfile.mkdtemp(prefix="orrery-dashboard-profile-")
    driver = None
    dashboard = None
    step = "setup"
    code = 0
    try:
        target = Target(args.url, args.ca_file, args.tls_server_name, args.timeout_s)
        log("ok: setup (%s; browser at %s)" % (target.tls_note, target.origin))
        driver = start_browser(target, profile_dir)
        driver.set_page_load_timeout(max(args.timeout_s, 30))
        driver.set_script_timeout(max(args.timeout_s, 30))
        dashboard = Dashboard(driver, target, args, shots_dir)
        dashboard.process = None
        for step in ("login", "overview", "jobs", "actors", "tasks", "timeline", "objects", "placement_groups",
                     "logs", "logout"):
            getattr(dashboard, step)()
        process = dashboard.process
        if process is not None:
            step = "jobs"
            try:
                rc = process.wait(timeout=args.timeout_s)
            except subprocess.TimeoutExpired:
                raise StepFailed("jobs", "the submit command to exit within %ss" % args.timeout_s, "still running")
            if rc != 0:
                raise StepFailed("jobs", "the submit command to exit 0", "exit status %d" % rc)
        log("PASS: every dashboard check passed%s" % (" (screenshots in %s)" % shots_dir if args.screenshots else ""))
    except Exception as err:  # every failure ends in one FAIL line naming the step (and a screenshot)
        if isinstance(err, StepFailed):
            step, message = err.step, "expected %s\n  seen: %s" % (err.expected, err.seen)
        else:
            message = "%s: %s" % (type(err).__name__, getattr(err, "msg", None) or err)
            traceback.print_exc()
        url = "(no page)"
        shot = None
        if driver is not None:
            try:
                url = driver.current_url
                shot = os.path.join(shots_dir, "failure-%s.png" % step)
                driver.save_screenshot(shot)
            except WebDriverException:
                shot = None
        log("FAIL: %s at %s\n  %s" % (step, url, message))
        if shot:
            log("  screenshot: %s" % shot)
        code = 1
    finally:
        if driver is not None:
            try:
                driver.quit()
            except WebDriverException:
                pass
        process = getattr(dashboard, "process", None)
        if process is not None and process.poll() is None:
            log("stopping the submit command (pid %d)" % process.pid)
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        shutil.rmtree(profile_dir, ignore_errors=True)
        if not args.screenshots and code == 0:
            shutil.rmtree(shots_dir, ignore_errors=True)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
