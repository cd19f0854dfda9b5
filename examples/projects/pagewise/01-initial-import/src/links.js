'use strict';

// Every page number from 1 to `pages`, for a pager to render.
function pageLinks(current, pages) {
  const links = [];
  for (let page = 1; page <= pages; page++) {
    links.push({ page, current: page === current });
  }
  return links;
}

module.exports = { pageLinks };
