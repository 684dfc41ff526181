// The tutor's page, loaded after textual.js (which looks up window.WebSocket only when it
// connects, and starts from window.onload):
// * the terminal gets the keyboard focus as soon as it exists, so keys work without a click;
// * when the server closes the tab's socket with a reason (server full, idle, the tutor
//   stopped), the "Session ended" dialog says that reason instead;
// * the terminal opens once the bundled Roboto Mono is loaded (xterm.js measures its cells
//   when it opens), or after a second without it;
// * the Start and Restart buttons work without inline script (the page's CSP allows none);
// * a relative socket URL (behind a Jupyter server) becomes an absolute ws(s):// one.
(() => {
  "use strict";

  let connected = false; // textual.js tells the server about focus changes: not before the socket is open
  const focusTerminal = () => {
    if (!connected) {
      return;
    }
    const input = document.querySelector("#terminal .xterm-helper-textarea");
    if (input && document.activeElement !== input) {
      input.focus({ preventScroll: true });
    }
  };

  const say = (text) => {
    const message = document.querySelector(".closed-dialog .message");
    if (message) {
      message.textContent = text;
    }
  };

  // A relative socket URL (behind a Jupyter server's proxy prefix) against this page's address,
  // as ws: or wss: like the page: older browsers take only absolute ws(s):// URLs.
  const socketUrl = (url) => {
    const absolute = new URL(url, window.location.href);
    absolute.protocol = absolute.protocol.replace(/^http/, "ws");
    return absolute.href;
  };

  const Native = window.WebSocket;
  class TutorSocket extends Native {
    constructor(url, protocols) {
      super(socketUrl(url), protocols);
      this.addEventListener("open", () => {
        connected = true;
        setTimeout(focusTerminal, 0);
      });
      this.addEventListener("close", (event) => {
        connected = false;
        if (event.reason) {
          say(event.reason);
        } else if (event.code === 1006) {
          say("The connection to the workshop server was lost. Reload the page to try again.");
        }
      });
    }
  }
  window.WebSocket = TutorSocket;

  const startUrl = () => {
    const params = new URLSearchParams(window.location.search);
    params.delete("delay");
    const query = params.toString();
    return window.location.pathname + (query ? "?" + query : "");
  };

  const textualStart = window.onload;
  window.onload = async (event) => {
    for (const button of document.querySelectorAll("button.restart")) {
      button.addEventListener("click", () => {
        window.location.href = startUrl();
      });
    }
    try {
      await Promise.race([
        document.fonts.load('16px "Roboto Mono"'),
        new Promise((resolve) => setTimeout(resolve, 1000)),
      ]);
    } catch (error) {
      // the fallback fonts will do
    }
    if (textualStart) {
      textualStart(event); // connects; the terminal is focused once the socket is open
    }
  };
  window.addEventListener("focus", () => setTimeout(focusTerminal, 0));
})();
