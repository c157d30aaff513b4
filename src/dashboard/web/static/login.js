// The login page: sends the cluster token to /api/v0/login, which answers with an HttpOnly
// cookie, then goes back to the page that sent the reader here (?next=), if that is a path on
// this server. A one-time link of `orrery dashboard` (/login#once=<nonce>) logs in by itself:
// the nonce travels in the fragment, so no server log or Referer holds it, and it is taken out
// of the address bar and history before it is used.
(function (Dash) {
  "use strict";

  function start() {
    const form = document.getElementById("login-form");
    const token = document.getElementById("token");
    const error = document.getElementById("login-error");
    const submit = form.querySelector("button[type=submit]");

    function fail(message) {
      error.textContent = message;
      error.hidden = false;
      submit.disabled = false;
      token.select();
    }

    // credentials: {token} or {once}; refused is what a 401 says.
    async function logIn(credentials, refused) {
      error.hidden = true;
      submit.disabled = true;
      let response;
      try {
        response = await fetch("/api/v0/login", {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-Orrery-Request": "1" },
          body: JSON.stringify(credentials),
        });
      } catch (err) {
        fail("cannot reach the dashboard server");
        return;
      }
      if (response.status === 401) {
        fail(refused);
        return;
      }
      if (!response.ok) {
        fail("login failed: HTTP " + response.status);
        return;
      }
      // replace(): the back button should not land on the login form again.
      location.replace(Dash.safeNextPath(new URLSearchParams(location.search).get("next")));
    }

    form.addEventListener("submit", (event) => {
      event.preventDefault();
      logIn({ token: token.value }, "wrong token");
    });

    const once = new URLSearchParams((location.hash || "").replace(/^#/, "")).get("once");
    if (once) {
      history.replaceState(null, "", location.pathname + location.search);
      logIn({ once }, "this login link was used already or has expired: log in with the token");
    }
  }

  Dash.onReady(start);
})(window.Dash);
