'use strict';

function checkPerPage(perPage) {
  if (!Number.isInteger(perPage) || perPage < 1) {
    throw new RangeError(`perPage must be a positive integer, got ${perPage}`);
  }
}

// How many pages `total` items fill at `perPage` items a page.
function pageCount(total, perPage) {
  checkPerPage(perPage);
  return Math.floor(total / perPage);
}

// One page of `items`, numbered from 1, and where it sits among the others.
function paginate(items, { page = 1, perPage = 20 } = {}) {
  const total = items.length;
  const pages = pageCount(total, perPage);
  const start = (page - 1) * perPage;
  return {
    items: items.slice(start, start + perPage),
    page,
    perPage,
    total,
    pages,
    hasPrevious: page > 1,
    hasNext: page < pages,
  };
}

module.exports = { paginate, pageCount };
