// Demo wiring for /demo: no inline script or style anywhere, so it runs under a strict CSP.
(function () {
  'use strict';

  var statusLine = document.getElementById('status');
  var history = document.getElementById('history');

  function meta(name) {
    var el = document.querySelector('meta[name="' + name + '"]');
    return el ? el.getAttribute('content') || '' : '';
  }

  function say(text, kind) {
    statusLine.textContent = text;
    statusLine.className = 'status' + (kind ? ' ' + kind : '');
  }

  function remember(text, kind) {
    var item = document.createElement('li');
    var time = document.createElement('time');
    time.textContent = new Date().toLocaleTimeString();
    item.appendChild(time);
    item.appendChild(document.createTextNode(' ' + text));
    if (kind) item.className = kind;
    history.insertBefore(item, history.firstChild);
    while (history.children.length > 8) history.removeChild(history.lastChild);
  }

  var Telltale = window.Telltale;
  var key = meta('telltale-key');
  if (!Telltale)
    return say('The SDK did not load (/sdk/telltale.min.js): build it with npm run build.', 'error');
  if (!key || key.charAt(0) === '%')
    return say('No ingest key: open this page through the Telltale server at /demo.', 'error');

  // Watch the SDK's uploads, only to show what was sent; the SDK itself needs none of this.
  var originalFetch = window.fetch;
  var uploads = 0;
  window.fetch = function (input, init) {
    var url = typeof input === 'string' ? input : input && input.url;
    var upload = originalFetch.apply(this, arguments);
    if (!url || url.indexOf('/v1/batch') < 0) return upload;
    uploads++;
    var how = init && init.keepalive ? ' (page hide, keepalive)' : '';
    upload.then(
      function (response) {
        response
          .clone()
          .json()
          .catch(function () {
            return {};
          })
          .then(function (body) {
            var ok = response.status >= 200 && response.status < 300;
            var detail = ok
              ? body.accepted + ' event(s) accepted' + (body.duplicate ? ', a duplicate batch' : '')
              : (body.error && body.error.code) || 'refused';
            say('Batch sent' + how + ': HTTP ' + response.status + ', ' + detail + '.', ok ? 'ok' : 'error');
            remember('HTTP ' + response.status + ' ' + detail + how, ok ? 'ok' : 'error');
          });
      },
      function () {
        say('Upload failed (offline?): the SDK keeps the events and retries with backoff.', 'error');
      },
    );
    return upload;
  };

  Telltale.init({
    endpoint: meta('telltale-endpoint'),
    key: key,
    release: 'demo-1.0.0',
    environment: 'demo',
    // The traceparent add-on (/sdk/telltale-trace.js) puts the session's trace id on calls to this origin.
    propagateTraceparent: [window.location.origin],
  });
  say('Ready. Click a button; events leave about a second later.');

  function queued(what) {
    say('Captured ' + what + '; sending in about a second…');
    remember('captured ' + what);
  }

  function applyDiscount(cart) {
    return cart.coupon.percent; // cart is undefined: TypeError
  }

  function on(id, handler) {
    document.getElementById(id).addEventListener('click', handler);
  }

  on('throw-error', function () {
    // setTimeout: thrown outside this click handler, so truly uncaught and seen by the SDK's error listener
    setTimeout(function computeCheckoutTotal() {
      applyDiscount(undefined);
    }, 0);
    queued('an uncaught TypeError');
  });

  on('checkout', function () {
    var result = document.getElementById('checkout-result');
    Telltale.track('checkout-click', { items: 3 });
    result.textContent = 'Checking out…';
    window
      .fetch('/demo/api/checkout', { method: 'POST', credentials: 'same-origin' })
      .then(function (response) {
        return response
          .json()
          .catch(function () {
            return {};
          })
          .then(function (body) {
            if (response.ok) return;
            result.textContent =
              'The server answered HTTP ' + response.status + ' (' + (body.error || 'error') + '). ';
            if (body.trace) {
              var link = document.createElement('a');
              link.href = '/timeline?trace=' + encodeURIComponent(body.trace);
              link.id = 'checkout-timeline';
              link.textContent = 'See both sides on the timeline';
              result.appendChild(link);
            }
            // Thrown outside the promise chain: an uncaught error, as an app's own code would throw it.
            setTimeout(function completeCheckout() {
              throw new Error('checkout failed: HTTP ' + response.status);
            }, 0);
          });
      });
    queued('a checkout click');
  });

  on('reject-promise', function () {
    function chargeCard() {
      return Promise.reject(new Error('payment provider timed out'));
    }
    chargeCard(); // nobody handles it: an unhandled rejection
    queued('an unhandled rejection');
  });

  on('fail-assert', function () {
    Telltale.assert(false, 'cart-total-matches', { items: 3, checksum: 'ab12' });
    queued('a failed assert: cart-total-matches');
  });

  on('soft-assert', function () {
    Telltale.softAssert(false, 'workspace-count-under-100', { workspaces: 140 });
    queued('a soft assert: workspace-count-under-100');
  });

  on('use-feature', function () {
    Telltale.track('export-csv', { rows: 42 });
    queued('a feature use: export-csv');
  });

  on('blocked', function () {
    Telltale.blocked('file-too-large', { sizeMb: 30, limitMb: 25 });
    queued('a blocked action: file-too-large');
  });

  on('flush', function () {
    var before = uploads;
    say('Flushing…');
    Telltale.flush().then(function () {
      if (uploads === before) say('Nothing was waiting to be sent (or the SDK is waiting out a retry).');
    });
  });
})();
