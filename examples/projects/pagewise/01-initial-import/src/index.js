'use strict';

const { paginate, pageCount } = require('./paginate');
const { pageLinks } = require('./links');

module.exports = { paginate, pageCount, pageLinks };
