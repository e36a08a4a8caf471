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
// The embedding map: hovering (or tabbing to) a user's point shows the user's recent events.
function showUser(event) {
  const dot = event.target.closest ? event.target.closest("circle[data-user]") : null;
  const box = document.getElementById("map-hover");
  if (!dot || !box) return;
  box.replaceChildren();
  const who = document.createElement("strong");
  who.textContent = `${dot.dataset.user} (cluster ${dot.dataset.cluster})`;
  const list = document.createElement("ol");
  for (const text of JSON.parse(dot.dataset.events || "[]")) {
    const item = document.createElement("li");
    item.textContent = text;
    list.append(item);
  }
  box.append(who, list);
}
document.addEventListener("mouseover", showUser);
document.addEventListener("focusin", showUser);
