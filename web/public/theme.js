// Runs in <head> before first paint (no flash): applies the saved theme (system | light | dark) and
// language. An external file, not an inline script, so the CSP stays free of 'unsafe-inline'.
(function () {
  var root = document.documentElement;
  var choice = 'system';
  try { choice = localStorage.getItem('nf-theme') || 'system'; } catch (e) { /* storage disabled */ }
  var dark = choice === 'dark' || (choice === 'system' && window.matchMedia('(prefers-color-scheme: dark)').matches);
  root.dataset.theme = dark ? 'dark' : 'light';
})();
