// The login page: sends the cluster token to /api/v0/login, which answers with an HttpOnly
// cookie, then goes back to the page that sent the reader here (?next=), if that is a path on
// this server.
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

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      error.hidden = true;
      submit.disabled = true;
      let response;
      try {
        response = await fetch("/api/v0/login", {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-Orrery-Request": "1" },
          body: JSON.stringify({ token: token.value }),
        });
      } catch (err) {
        fail("cannot reach the dashboard server");
        return;
      }
      if (response.status === 401) {
        fail("wrong token");
        return;
      }
      if (!response.ok) {
        fail("login failed: HTTP " + response.status);
        return;
      }
      // replace(): the back button should not land on the login form again.
      location.replace(Dash.safeNextPath(new URLSearchParams(location.search).get("next")));
    });
  }

  Dash.onReady(start);
})(window.Dash);
