'use strict';

// Outcome tests written from the user's request: with quoteStyle 'double', every printed
// string (top level, nested in objects/arrays, quoted object keys) is a double-quoted JS
// literal that reads back to exactly the original text; the default / 'single' output is
// unchanged. Public API only: require('object-inspect') resolved from the package root.

var test = require('node:test');
var assert = require('node:assert');
var path = require('node:path');

var inspect = require(path.resolve(__dirname, '..'));

function readBack(source) {
    // evaluate the printed text as a JS expression, in this realm
    return Function('"use strict"; return (' + source + '\n);')();
}

var samples = [
    'say "hi"',
    '"',
    '""',
    'C:\\temp\\new',
    '\\',
    'ends with a backslash \\',
    'a backslash before a quote \\"',
    "it's",
    'both \' and "',
    '\'"\'"',
    'line one\nline two\ttabbed',
    'plain'
];

test('quoteStyle double: each string is a double-quoted literal that reads back to the original', function () {
    samples.forEach(function (s) {
        var out = inspect(s, { quoteStyle: 'double' });
        assert.strictEqual(out.charAt(0), '"', 'starts with a double quote: ' + out);
        assert.strictEqual(out.charAt(out.length - 1), '"', 'ends with a double quote: ' + out);
        var back;
        assert.doesNotThrow(function () { back = readBack(out); }, 'valid JS literal: ' + out);
        assert.strictEqual(back, s, 'reads back to the original: ' + out);
    });
});

test('quoteStyle double: the example from the report', function () {
    assert.strictEqual(readBack(inspect('say "hi"', { quoteStyle: 'double' })), 'say "hi"');
});

test('quoteStyle double: strings nested in objects and arrays, and quoted keys, read back', function () {
    var value = {
        'a"b': 'say "hi"',
        'c\\d': 'C:\\temp\\new',
        "e'f": "it's",
        list: ['q"', '\\', 'both \' and "'],
        nested: { deeper: ['"quoted"', { 'k"': 'v\\' }] }
    };
    var out = inspect(value, { quoteStyle: 'double' });
    var back;
    assert.doesNotThrow(function () { back = readBack(out); }, 'valid JS: ' + out);
    assert.deepStrictEqual(back, value);
});

test('default and quoteStyle single output stay exactly as before', function () {
    var expected = [
        ["it's", "'it\\'s'"],
        ['say "hi"', '\'say "hi"\''],
        ['C:\\temp\\new', "'C:\\\\temp\\\\new'"],
        ['both \' and "', '\'both \\\' and "\''],
        ['tab\there', "'tab\\there'"],
        [{ 'a"b': "x'y", list: ['q"', '\\'] }, '{ \'a"b\': \'x\\\'y\', list: [ \'q"\', \'\\\\\' ] }']
    ];
    expected.forEach(function (pair) {
        assert.strictEqual(inspect(pair[0]), pair[1]);
        assert.strictEqual(inspect(pair[0], { quoteStyle: 'single' }), pair[1]);
    });
});
