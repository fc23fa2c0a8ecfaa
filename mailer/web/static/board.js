// Each preview frame grows to the height of the mailing inside it, so the board sees all of it
// at once, and a frame whose mailing is wider than the frame (a phone layout that overflows)
// is flagged. The sizes are kept on the frame (data-content-height, data-content-width).
"use strict";

function fit(frame) {
  const doc = frame.contentDocument;
  if (!doc || !doc.documentElement || !doc.body) return;
  const root = doc.documentElement;
  frame.style.height = "1px"; // else the document is never shorter than the frame
  const height = Math.max(root.scrollHeight, doc.body.scrollHeight);
  const width = Math.max(root.scrollWidth, doc.body.scrollWidth);
  frame.style.height = height + "px";
  frame.dataset.contentHeight = String(height);
  frame.dataset.contentWidth = String(width);
  frame.closest("figure").classList.toggle("overflow", width > frame.clientWidth);
}

for (const frame of document.querySelectorAll("iframe.preview")) {
  frame.addEventListener("load", () => fit(frame));
  if (frame.contentDocument && frame.contentDocument.readyState === "complete") fit(frame);
}
