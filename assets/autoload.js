// Infinite scroll: a button marked data-autoload is clicked when it scrolls into view
// (the log browser's "Load older"). It stays a normal button for keyboards and tests.
(() => {
  const seen = new WeakSet();
  const io = new IntersectionObserver((entries) => {
    for (const e of entries) {
      if (e.isIntersecting && !e.target.disabled) e.target.click();
    }
  }, { rootMargin: "200px" });
  const scan = () => {
    document.querySelectorAll("[data-autoload]").forEach((el) => {
      if (!seen.has(el)) { seen.add(el); io.observe(el); }
    });
  };
  new MutationObserver(scan).observe(document.documentElement, { childList: true, subtree: true });
  scan();
})();
