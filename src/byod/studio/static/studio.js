// A failed request (a server error, the studio stopped) is said on the page, not swallowed.
document.addEventListener("htmx:responseError", (event) => {
  const box = document.getElementById("request-error");
  box.textContent = `${event.detail.xhr.status} ${event.detail.pathInfo.requestPath}: ` +
    (event.detail.xhr.responseText || "").slice(0, 300);
  box.hidden = false;
});
document.addEventListener("htmx:sendError", (event) => {
  const box = document.getElementById("request-error");
  box.textContent = `the studio did not answer ${event.detail.pathInfo.requestPath}`;
  box.hidden = false;
});
