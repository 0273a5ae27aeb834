// The script-tag snippet (inline, before the package loads): `window.shopstream.<method>(...)`
// calls are queued, the package is imported from SRC, and the queue is replayed in order.
(function (w, src) {
  var s = (w.shopstream = w.shopstream || {});
  var q = (s.q = s.q || []);
  "init track page identify reset flush setConsent setAuthToken productViewed productAdded productRemoved checkoutStarted orderCompleted"
    .split(" ")
    .forEach(function (m) {
      s[m] = s[m] || function () { q.push([m, arguments]); };
    });
  import(src).then(function (sdk) {
    w.shopstream = sdk;
    q.forEach(function (c) { sdk[c[0]].apply(sdk, c[1]); });
  });
})(window, "SRC");
