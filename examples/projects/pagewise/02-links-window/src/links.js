'use strict';

// The page numbers a pager shows: the first and last page, `window` pages on each side of
// the current one, and a gap (null) wherever pages are left out.
function pageLinks(current, pages, { window = 2 } = {}) {
  const shown = [];
  for (let page = 1; page <= pages; page++) {
    if (page === 1 || page === pages || Math.abs(page - current) <= window) {
      shown.push(page);
    }
  }
  const links = [];
  for (const page of shown) {
    const previous = links.length > 0 ? links[links.length - 1] : null;
    if (previous !== null && page - previous.page > 1) {
      links.push(null);
    }
    links.push({ page, current: page === current });
  }
  return links;
}

module.exports = { pageLinks };
