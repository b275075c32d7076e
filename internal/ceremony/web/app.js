// The passkeyctl ceremony page: ask the server for options, hand them to
// the browser's WebAuthn API, send the answer back, show the outcome.
// No libraries, nothing from the network (the CSP allows only this origin).
"use strict";

(function () {
  var main = document.querySelector("main");
  var mode = main.dataset.mode;
  var button = document.getElementById("start");
  var result = document.getElementById("result");

  function fromB64url(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }

  function toB64url(buf) {
    var bytes = new Uint8Array(buf);
    var bin = "";
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  // show puts the outcome on the page. data-status is set only for a final
  // outcome ("ok" or "error"), so a watcher can wait for it.
  function show(status, message) {
    if (status) result.dataset.status = status; else delete result.dataset.status;
    result.textContent = message;
    result.hidden = false;
  }

  function post(path, body) {
    return fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store"
    }).then(function (res) {
      return res.json().catch(function () { return null; }).then(function (data) {
        return { ok: res.ok, data: data };
      });
    });
  }

  function creationOptions(pk) {
    pk.challenge = fromB64url(pk.challenge);
    pk.user.id = fromB64url(pk.user.id);
    (pk.excludeCredentials || []).forEach(function (c) { c.id = fromB64url(c.id); });
    return pk;
  }

  function requestOptions(pk) {
    pk.challenge = fromB64url(pk.challenge);
    (pk.allowCredentials || []).forEach(function (c) { c.id = fromB64url(c.id); });
    return pk;
  }

  function common(cred) {
    return {
      id: cred.id,
      rawId: toB64url(cred.rawId),
      type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment || undefined,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {}
    };
  }

  function registration(cred) {
    var out = common(cred);
    var r = cred.response;
    out.response = {
      clientDataJSON: toB64url(r.clientDataJSON),
      attestationObject: toB64url(r.attestationObject),
      transports: r.getTransports ? r.getTransports() : []
    };
    return out;
  }

  function assertion(cred) {
    var out = common(cred);
    var r = cred.response;
    out.response = {
      clientDataJSON: toB64url(r.clientDataJSON),
      authenticatorData: toB64url(r.authenticatorData),
      signature: toB64url(r.signature)
    };
    if (r.userHandle && r.userHandle.byteLength) out.response.userHandle = toB64url(r.userHandle);
    return out;
  }

  // Browser errors, in words for the person at the keyboard. These happen
  // before anything reaches passkeyctl, so the button may be pressed again.
  var browserMessages = {
    InvalidStateError: "This authenticator is already registered for this user. Use another authenticator, or revoke the old passkey first.",
    NotAllowedError: "The request was cancelled, timed out, or no matching passkey was found. Press the button to try again.",
    AbortError: "The request was cancelled. Press the button to try again.",
    SecurityError: "The browser refused to use a passkey on this address: the page must be opened at the site the passkey is for (its rpID), over https or on localhost.",
    NotSupportedError: "This authenticator cannot make a passkey of a type the app accepts (EdDSA, ES256 or RS256).",
    ConstraintError: "This authenticator cannot store a passkey on itself or cannot verify you (PIN, fingerprint or screen lock), which the app requires."
  };

  var serverGone = "passkeyctl is not answering any more: it may have stopped (time limit or Ctrl-C). Run it again for a new link.";

  function start() {
    button.disabled = true;
    show("", mode === "enroll" ? "Follow your browser's instructions to create the passkey…" : "Follow your browser's instructions to use your passkey…");
    post("api/begin", {}).then(function (begin) {
      if (!begin.ok || !begin.data || !begin.data.publicKey) {
        show("error", (begin.data && begin.data.message) || serverGone);
        return;
      }
      var ask = mode === "enroll"
        ? navigator.credentials.create({ publicKey: creationOptions(begin.data.publicKey) }).then(registration)
        : navigator.credentials.get({ publicKey: requestOptions(begin.data.publicKey) }).then(assertion);
      return ask.then(function (answer) {
        show("", "Checking…");
        return post("api/finish", answer).then(function (fin) {
          if (fin.data && fin.data.status === "ok") show("ok", fin.data.message);
          else show("error", (fin.data && fin.data.message) || "The passkey could not be checked.");
        }, function () { show("error", serverGone); });
      }, function (err) {
        var name = (err && err.name) || "Error";
        show("error", browserMessages[name] || ("The browser reported a problem: " + ((err && err.message) || name)));
        post("api/report", { name: name, message: String((err && err.message) || "") }).catch(function () {});
        button.disabled = false;
      });
    }, function () { show("error", serverGone); });
  }

  if (!window.PublicKeyCredential || !navigator.credentials) {
    show("error", "This browser cannot use passkeys here. Use a current browser, and open the page over https or on localhost.");
    button.disabled = true;
    return;
  }
  button.addEventListener("click", start);
})();
