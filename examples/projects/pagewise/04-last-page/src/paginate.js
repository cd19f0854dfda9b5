'use strict';

function checkPerPage(perPage) {
  if (!Number.isInteger(perPage) || perPage < 1) {
    throw new RangeError(`perPage must be a positive integer, got ${perPage}`);
  }
}

// How many pages `total` items fill at `perPage` items a page. A partial last page is a
// page, and an empty list is one empty page.
function pageCount(total, perPage) {
  checkPerPage(perPage);
  return Math.max(1, Math.ceil(total / perPage));
}

// One page of `items`, numbered from 1, and where it sits among the others. A page before
// the first or after the last gives that first or last page.
function paginate(items, { page = 1, perPage = 20 } = {}) {
  const total = items.length;
  const pages = pageCount(total, perPage);
  const current = Math.min(Math.max(page, 1), pages);
  const start = (current - 1) * perPage;
  return {
    items: items.slice(start, start + perPage),
    page: current,
    perPage,
    total,
    pages,
    hasPrevious: current > 1,
    hasNext: current < pages,
  };
}

module.exports = { paginate, pageCount };
