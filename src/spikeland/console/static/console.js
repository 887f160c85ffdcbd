// The console's small script: confirmations, charts, drag to reorder, live refresh. No build step.
"use strict";

// A form with data-confirm asks first (delete, refund, role change). A POST form sent is sent
// once: its buttons are disabled until the next page (a double click must not rerun a paid job).
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
    return;
  }
  if (form.method === "post") {
    setTimeout(() => form.querySelectorAll("button[type=submit], button:not([type])").forEach((b) => { b.disabled = true; }), 0);
  }
});

// Charts: each <div class="chart" data-figure="id"> draws the JSON figure in <script id="id">.
function drawCharts() {
  if (!window.Plotly) return;
  for (const box of document.querySelectorAll("div.chart[data-figure]")) {
    const figure = JSON.parse(document.getElementById(box.dataset.figure).textContent);
    window.Plotly.newPlot(box, figure.data, figure.layout, { responsive: true, displaylogo: false });
  }
}

// Drag to reorder (ol.sortable): the new order goes into the form's hidden "order" field;
// keyboard users move the focused item with Alt+ArrowUp / Alt+ArrowDown.
function sortable(list) {
  const form = document.getElementById(list.dataset.form);
  const sync = () => {
    form.elements.order.value = [...list.children].map((item) => item.dataset.id).join(",");
  };
  let dragged = null;
  list.addEventListener("dragstart", (event) => { dragged = event.target.closest("li"); dragged.classList.add("dragging"); });
  list.addEventListener("dragend", () => { if (dragged) dragged.classList.remove("dragging"); dragged = null; sync(); });
  list.addEventListener("dragover", (event) => {
    event.preventDefault();
    const over = event.target.closest("li");
    if (!dragged || !over || over === dragged) return;
    const after = event.clientY > over.getBoundingClientRect().top + over.offsetHeight / 2;
    list.insertBefore(dragged, after ? over.nextSibling : over);
  });
  list.addEventListener("keydown", (event) => {
    const item = event.target.closest("li");
    if (!item || !event.altKey) return;
    if (event.key === "ArrowUp" && item.previousElementSibling) list.insertBefore(item, item.previousElementSibling);
    else if (event.key === "ArrowDown" && item.nextElementSibling) list.insertBefore(item.nextElementSibling, item);
    else return;
    event.preventDefault(); item.focus(); sync();
  });
  sync();
}

// Live refresh: an element with data-refresh="seconds" reloads its own HTML from the same URL,
// until the fresh copy no longer asks for it (the jobs it shows have ended).
function refresher(box) {
  const every = Number(box.dataset.refresh) * 1000;
  const timer = setInterval(async () => {
    const answer = await fetch(window.location.href, { headers: { "X-Console-Fragment": box.id } });
    if (!answer.ok) return;
    const page = new DOMParser().parseFromString(await answer.text(), "text/html");
    const fresh = page.getElementById(box.id);
    if (fresh) box.replaceWith(fresh);
    box = fresh || box;
    if (!box.dataset.refresh) clearInterval(timer);
  }, every);
}

document.addEventListener("DOMContentLoaded", () => {
  drawCharts();
  document.querySelectorAll("ol.sortable").forEach(sortable);
  document.querySelectorAll("[data-refresh]").forEach(refresher);
});
