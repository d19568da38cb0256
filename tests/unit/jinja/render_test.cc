// Rendering: every construct, filter, test and method, with expectations produced by Python's
// Jinja2 3.1 configured as transformers configures it (trim_blocks, lstrip_blocks,
// loopcontrols, json.dumps-based tojson, raise_exception), the engine chat templates are
// written for.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "text/jinja/json_convert.h"
#include "text/jinja/template.h"

namespace ts::jinja {
namespace {

struct RenderCase {
  const char* source;
  const char* expected;
  bool with_messages;  // render with a two-message conversation as `messages`
};

// clang-format off
const RenderCase kCases[] = {
    {R"jinja(hello {{ 1 + 2 }} {{ 'a' ~ 3 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 2 ** 10 }})jinja",
     R"jinja(hello 3 a3 3 -4 2 3.5 1024)jinja", false},
    {R"jinja({{ [1, 'a', none, true, 1.5, {'k': 'v'}] }}|{{ none }}|{{ 1e20 }}|{{ 1/3 }}|{{ (1,) }}|{{ () }})jinja",
     R"jinja([1, 'a', None, True, 1.5, {'k': 'v'}]|None|1e+20|0.3333333333333333|(1,)|())jinja", false},
    {R"jinja({% set c = 0 %}{% for i in range(3) %}{% set c = c + 1 %}{{ c }}{% endfor %}{{ c }})jinja",
     R"jinja(1110)jinja", false},
    {R"jinja({% if true %}{% set c = 5 %}{% endif %}{{ c }})jinja",
     R"jinja(5)jinja", false},
    {R"jinja({{ x is defined }}{{ x is undefined }}{{ none is none }}{{ 1 is number }}{{ true is number }}{{ true is integer }})jinja",
     R"jinja(FalseTrueTrueTrueTrueFalse)jinja", false},
    {R"jinja({% macro f(n) %}{{ n }}{% if n > 0 %}{{ f(n-1) }}{% endif %}{% endmacro %}{{ f(3) }})jinja",
     R"jinja(3210)jinja", false},
    {R"jinja({{ 'abc'[::-1] }}{{ 'abcdef'[1:4] }}{{ 'abcdef'[-2:] }}{{ [1,2,3,4][::2] }}{{ 'a' * 3 }})jinja",
     R"jinja(cbabcdef[1, 3]aaa)jinja", false},
    {R"jinja({{ '  a b  '.split() }}{{ 'a,b'.split(',') }}{{ 'a,b,c'.split(',', 1) }}{{ ' x '.strip() }}|{{ 'xxhixx'.strip('x') }})jinja",
     R"jinja(['a', 'b']['a', 'b']['a', 'b,c']x|hi)jinja", false},
    {R"jinja({{ '"x"' | tojson }}{{ {'a': [1, 2], 'b': {}} | tojson(indent=2) }}{{ {'é': 'ü\n'} | tojson }})jinja",
     R"jinja("\"x\""{
  "a": [
    1,
    2
  ],
  "b": {}
}{"é": "ü\n"})jinja", false},
    {R"jinja({{ 10 is divisibleby 3 }}{{ 'a' is lower }}{{ 'A' is upper }}{{ 3 is odd }}{{ 4 is even }})jinja",
     R"jinja(FalseTrueTrueTrueTrue)jinja", false},
    {R"jinja({% set x %}hi{% endset %}{{ x }}{{ x|length }})jinja",
     R"jinja(hi2)jinja", false},
    {R"jinja({% for a, b in [(1, 2), (3, 4)] %}{{ a }}-{{ b }};{% endfor %})jinja",
     R"jinja(1-2;3-4;)jinja", false},
    {R"jinja({% for x in [1,2,3,4] if x is even %}{{ loop.index }}/{{ loop.length }}:{{ x }} {% else %}none{% endfor %})jinja",
     R"jinja(1/2:2 2/2:4 )jinja", false},
    {R"jinja({% for x in [] %}x{% else %}empty{% endfor %})jinja",
     R"jinja(empty)jinja", false},
    {R"jinja({% for x in 'abc' %}{{ loop.first }}{{ loop.last }}{{ loop.revindex }}{{ loop.previtem }}{{ loop.nextitem }},{% endfor %})jinja",
     R"jinja(TrueFalse3b,FalseFalse2ac,FalseTrue1b,)jinja", false},
    {R"jinja({% set ns = namespace(a=1, b='x') %}{% for i in range(3) %}{% set ns.a = ns.a + i %}{% endfor %}{{ ns.a }}{{ ns.b }})jinja",
     R"jinja(4x)jinja", false},
    {R"jinja({% macro m(a, b=2, c='x') %}{{ a }}{{ b }}{{ c }}{{ varargs }}{{ kwargs }}{% endmacro %}{{ m(1) }}|{{ m(1, 3) }}|{{ m(1, c='z') }})jinja",
     R"jinja(12x(){}|13x(){}|12z(){})jinja", false},
    {R"jinja({% macro w() %}<{{ caller() }}>{% endmacro %}{% call w() %}inner{% endcall %})jinja",
     R"jinja(<inner>)jinja", false},
    {R"jinja({% macro w() %}<{{ caller(5) }}>{% endmacro %}{% call(x) w() %}inner{{ x }}{% endcall %})jinja",
     R"jinja(<inner5>)jinja", false},
    {R"jinja({% filter upper %}abc{{ 'd' }}{% endfilter %})jinja",
     R"jinja(ABCD)jinja", false},
    {R"jinja({% for i in range(10) %}{% if i == 2 %}{% continue %}{% endif %}{% if i == 5 %}{% break %}{% endif %}{{ i }}{% endfor %})jinja",
     R"jinja(0134)jinja", false},
    {R"jinja({{ 'a' if 1 > 2 else 'b' }}{{ 'c' if true }}|{{ 'd' if false }}|)jinja",
     R"jinja(bc||)jinja", false},
    {R"jinja({{ 1 < 2 < 3 }}{{ 1 < 3 < 2 }}{{ 'a' in 'abc' }}{{ 'z' not in 'abc' }}{{ 1 in [1,2] }}{{ 'k' in {'k':1} }})jinja",
     R"jinja(TrueFalseTrueTrueTrueTrue)jinja", false},
    {R"jinja({{ not true }}{{ not 0 }}{{ true and 'x' }}{{ 0 or 'y' }}{{ [] or 'e' }})jinja",
     R"jinja(FalseTruexye)jinja", false},
    {R"jinja({{ [3,1,2]|sort }}{{ ['b','A','c']|sort }}{{ [3,1,2]|sort(reverse=true) }}{{ [1,2,2,3,1]|unique|list }})jinja",
     R"jinja([1, 2, 3]['A', 'b', 'c'][3, 2, 1][1, 2, 3])jinja", false},
    {R"jinja({{ {'b':1,'a':2}|dictsort }}{{ {'b':1,'a':2}|items|list }}{{ [1,2,3]|first }}{{ [1,2,3]|last }}{{ [1,2,3]|length }}{{ 'abc'|length }})jinja",
     R"jinja([('a', 2), ('b', 1)][('b', 1), ('a', 2)]1333)jinja", false},
    {R"jinja({{ ['a','b']|join(', ') }}{{ [1,2]|join }}{{ 'hello world'|title }}{{ 'hello'|capitalize }}{{ 'ABC'|lower }}{{ 'x'|upper }})jinja",
     R"jinja(a, b12Hello WorldHelloabcX)jinja", false},
    {R"jinja({{ x|default('d') }}{{ ''|default('e', true) }}{{ none|default('n') }}{{ x|d('y') }})jinja",
     R"jinja(deNoney)jinja", false},
    {R"jinja({{ [{'a':1},{'a':2},{'b':3}]|selectattr('a')|list }}{{ [{'a':1},{'a':2}]|map(attribute='a')|list }}{{ [{'t':'x'},{'t':'y'}]|selectattr('t','equalto','y')|list }})jinja",
     R"jinja([{'a': 1}, {'a': 2}][1, 2][{'t': 'y'}])jinja", false},
    {R"jinja({{ [{'a':1},{'a':2},{'b':3}]|rejectattr('a')|list }}{{ [1,2,3,4]|select('odd')|list }}{{ [1,2,3,4]|reject('odd')|list }}{{ ['a','b']|map('upper')|list }})jinja",
     R"jinja([{'b': 3}][1, 3][2, 4]['A', 'B'])jinja", false},
    {R"jinja({{ '3'|int + 1 }}{{ '3.5'|float }}{{ 3.7|int }}{{ -3|abs }}{{ 2.5|round }}{{ 3.14159|round(2) }}{{ 3.1|round(0,'ceil') }})jinja",
     R"jinja(43.5332.03.144.0)jinja", false},
    {R"jinja({{ 'a
b

c'|indent }}|{{ 'a
b'|indent(2, true) }}|{{ 'a

b'|indent(2, blank=true) }})jinja",
     R"jinja(a
    b

    c|  a
  b|a
  
  b)jinja", false},
    {R"jinja({{ '<a href="x">&'|e }}{{ 'one two  three'|wordcount }}{{ [1,2,3,4,5]|batch(2)|list }}{{ [1,2,3]|sum }}{{ [1,5,3]|min }}{{ [1,5,3]|max }})jinja",
     R"jinja(&lt;a href=&#34;x&#34;&gt;&amp;3[[1, 2], [3, 4], [5]]615)jinja", false},
    {R"jinja({{ 'abc'|reverse }}{{ [1,2]|reverse|list }}{{ {'a':1}|attr('items') is callable }}{{ 1|string ~ 'x' }})jinja",
     R"jinja(cba[2, 1]True1x)jinja", false},
    {R"jinja({{ 'hello'.startswith('he') }}{{ 'hello'.endswith(('x','lo')) }}{{ 'aXbXc'.replace('X', '-') }}{{ 'aXbXc'.replace('X', '-', 1) }}{{ 'abc'.upper() }})jinja",
     R"jinja(TrueTruea-b-ca-bXcABC)jinja", false},
    {R"jinja({{ {'a':1}.get('a') }}{{ {'a':1}.get('b') }}{{ {'a':1}.get('b', 2) }}{{ {'a':1}.items()|list }}{{ {'a':1}.keys()|list }}{{ {'a':1}.values()|list }})jinja",
     R"jinja(1None2[('a', 1)]['a'][1])jinja", false},
    {R"jinja({% set d = {'items': 5} %}{{ d['items'] }}{{ d.items is callable }})jinja",
     R"jinja(5True)jinja", false},
    {R"jinja(  {% if true %}
  yes
  {% endif %}
  {{ 'x' }}
{# comment #}
end
)jinja",
     R"jinja(  yes
  x
end)jinja", false},
    {R"jinja(a  {%- if true -%}  b  {%- endif -%}  c {{- ' d ' -}} e)jinja",
     R"jinja(abc d e)jinja", false},
    {R"jinja({% raw %}{{ not rendered }}{% endraw %})jinja",
     R"jinja({{ not rendered }})jinja", false},
    {R"jinja({{ "a\tb\\c\x41\u00e9" }})jinja",
     R"jinja(a	b\cAé)jinja", false},
    {R"jinja({{ 'a' 'b' }}{{ -2 ** 2 }}{{ 2 ** -1 }}{{ (1, 2) + (3,) }}{{ [1] + [2] }})jinja",
     R"jinja(ab40.5(1, 2, 3)[1, 2])jinja", false},
    {R"jinja({%- for m in messages -%}{{ m.role }}:{{ m.content }}
{%- endfor %})jinja",
     R"jinja()jinja", false},
    {R"jinja({{ 'a' < 'b' }}{{ [1,2] < [1,3] }}{{ 1 == 1.0 }}{{ true == 1 }}{{ 'a' == 'a' }}{{ [1] == [1] }}{{ none == none }})jinja",
     R"jinja(TrueTrueTrueTrueTrueTrueTrue)jinja", false},
    {R"jinja({{ range(5)|list }}{{ range(1,10,3)|list }}{{ range(5,0,-2)|list }})jinja",
     R"jinja([0, 1, 2, 3, 4][1, 4, 7][5, 3, 1])jinja", false},
    {R"jinja({% set a, b = 1, 2 %}{{ a }}{{ b }})jinja",
     R"jinja(12)jinja", false},
    {R"jinja({{ dict(a=1, b=2) }}{{ namespace(x=1).x }})jinja",
     R"jinja({'a': 1, 'b': 2}1)jinja", false},
    {R"jinja({{ 'x' is string }}{{ [1] is iterable }}{{ {} is mapping }}{{ 'x' is sequence }}{{ 1 is iterable }}{{ none is sequence }})jinja",
     R"jinja(TrueTrueTrueTrueFalseFalse)jinja", false},
    {R"jinja({{ 5 is gt 3 }}{{ 5 is lt 3 }}{{ 5 is ge 5 }}{{ 5 is eq 5 }}{{ 5 is ne 5 }}{{ 1 is in [1] }}{{ none is sameas none }}{{ 'x' is equalto 'x' }})jinja",
     R"jinja(TrueFalseTrueTrueFalseTrueTrueTrue)jinja", false},
    {R"jinja({% if x %}a{% elif y %}b{% else %}c{% endif %})jinja",
     R"jinja(c)jinja", false},
    {R"jinja({{ 0.1 + 0.2 }}{{ 1e-5 }}{{ 123456789012345678.0 }}{{ 1.5e300 * 1e10 }}{{ 100.0 }}{{ 1e16 }}{{ 1e15 }})jinja",
     R"jinja(0.300000000000000041e-051.2345678901234568e+17inf100.01e+161000000000000000.0)jinja", false},
    {R"jinja({{ [1, [2, [3]]] | tojson }}{{ 'x' | tojson(indent=4) }}{{ [] | tojson(indent=2) }}{{ [1] | tojson(separators=(',', ':')) }}{{ {'b':1,'a':2} | tojson(sort_keys=true) }})jinja",
     R"jinja([1, [2, [3]]]"x"[][1]{"a": 2, "b": 1})jinja", false},
    {R"jinja({% set x = [1,2,3] %}{{ x[-1] }}{{ x[5] }}{{ x[1:] }}{{ x | length }})jinja",
     R"jinja(3[2, 3]3)jinja", false},
    {R"jinja({{ 'héllo wörld'|upper }}{{ 'héllo'[1] }}{{ 'héllo'|length }}{{ 'ÀÉ'|lower }})jinja",
     R"jinja(HÉLLO WÖRLDé5àé)jinja", false},
    {R"jinja({% for i in range(2) %}
  {% if i %}
    one
  {% else %}
    zero
  {% endif %}
{% endfor %}
)jinja",
     R"jinja(    zero
    one
)jinja", false},
    {R"jinja(line1
    {%+ if true %}kept indent{% endif %}
)jinja",
     R"jinja(line1
    kept indent)jinja", false},
    {R"jinja({% if true +%}
newline kept{% endif %})jinja",
     R"jinja(
newline kept)jinja", false},
    {R"jinja(a
  {# lstripped comment #}
b)jinja",
     R"jinja(a
b)jinja", false},
    {R"jinja(x {{- '  y  ' }} z
{{ 'w' -}}
   v)jinja",
     R"jinja(x  y   z
wv)jinja", false},
    {R"jinja({%- set x = 'a' -%}

   {{ x }}   

{%- set y = 'b' %}
{{ y }})jinja",
     R"jinja(ab)jinja", false},
    {R"jinja({{ '{{' }}{{ '}}' }}{{ {'a': {'b': 1}} }})jinja",
     R"jinja({{}}{'a': {'b': 1}})jinja", false},
    {R"jinja({% set l = [1, 2, 3] %}{{ l | join('-') }}{{ l | map('string') | join }}{{ l[0] + l[-1] }})jinja",
     R"jinja(1-2-31234)jinja", false},
    {R"jinja({% for k, v in {'x': 1, 'y': 2}.items() %}{{ k }}={{ v }}{{ ',' if not loop.last }}{% endfor %})jinja",
     R"jinja(x=1,y=2)jinja", false},
    {R"jinja({% for k in {'x': 1, 'y': 2} %}{{ k }}{% endfor %})jinja",
     R"jinja(xy)jinja", false},
    {R"jinja({% macro outer() %}[{{ caller() }}]{% endmacro %}{% macro inner(x) %}{{ x * 2 }}{% endmacro %}{% call outer() %}{{ inner(21) }}{% endcall %})jinja",
     R"jinja([42])jinja", false},
    {R"jinja({% set ns = namespace(items=[]) %}{% for i in range(3) %}{% set ns.items = ns.items + [i] %}{% endfor %}{{ ns.items }})jinja",
     R"jinja([0, 1, 2])jinja", false},
    {R"jinja({% for outer in [1, 2] %}{% for inner in ['a', 'b'] %}{{ loop.index }}{{ outer }}{{ inner }} {% endfor %}{{ loop.index }};{% endfor %})jinja",
     R"jinja(11a 21b 1;12a 22b 2;)jinja", false},
    {R"jinja({{ 'Hello'[0] }}{{ 'Hello'[-1] }}{{ 'Hello'[10] is defined }}{{ [1, 2][3] is undefined }})jinja",
     R"jinja(HoFalseTrue)jinja", false},
    {R"jinja({{ 'a b c'.split(' ', 1) }}{{ 'a\nb\r\nc'.splitlines() }}{{ 'abcabc'.count('b') }}{{ 'abc'.find('c') }}{{ 'abc'.find('z') }}{{ 'xAx'.title() }})jinja",
     R"jinja(['a', 'b c']['a', 'b', 'c']22-1Xax)jinja", false},
    {R"jinja({{ '{0}' }}{{ "it's" }}{{ ['it\'s'] }}{{ ['say "hi"'] }}{{ ['both \' "'] }})jinja",
     R"jinja({0}it's["it's"]['say "hi"']['both \' "'])jinja", false},
    {R"jinja({{ [1, 2] * 2 }}{{ 3 * 'ab' }}{{ 1.5 * 2 }}{{ 7 % -3 }}{{ -7.5 // 2 }}{{ 1 / 4 }})jinja",
     R"jinja([1, 2, 1, 2]ababab3.0-2-4.00.25)jinja", false},
    {R"jinja({{ {'a': 1} == {'a': 1} }}{{ [1, 2] != [2, 1] }}{{ 'b' > 'a' }}{{ 2 >= 2.0 }}{{ (1, 2) == [1, 2] }})jinja",
     R"jinja(TrueTrueTrueTrueFalse)jinja", false},
    {R"jinja({{ none is not none }}{{ x is not defined }}{{ 'a' is not string }}{{ not x is defined }})jinja",
     R"jinja(FalseTrueFalseTrue)jinja", false},
    {R"jinja({{ [{'n': 'b', 'v': 2}, {'n': 'a', 'v': 1}] | sort(attribute='n') | map(attribute='v') | list }})jinja",
     R"jinja([1, 2])jinja", false},
    {R"jinja({{ [{'n': {'x': 3}}, {'n': {'x': 1}}] | map(attribute='n.x') | list }}{{ [[1, 2], [3, 4]] | map(attribute='1') | list }})jinja",
     R"jinja([3, 1][2, 4])jinja", false},
    {R"jinja({{ ['a', 'B', 'c'] | max }}{{ ['a', 'B', 'c'] | min }}{{ [] | max is undefined }}{{ [1.5, 2] | sum }}{{ [{'p': 2}, {'p': 3}] | sum(attribute='p') }})jinja",
     R"jinja(caTrue3.55)jinja", false},
    {R"jinja({{ 'ab' | list }}{{ {'k': 1} | list }}{{ none | string }}{{ true | string }}{{ 1.0 | string }}{{ [1] | string }})jinja",
     R"jinja(['a', 'b']['k']NoneTrue1.0[1])jinja", false},
    {R"jinja({{ 'x' | int }}{{ 'x' | int(7) }}{{ '0x1A' | int(0, 16) }}{{ ' 42 ' | int }}{{ '4_2' | int }}{{ '1e3' | float }}{{ true | int }}{{ 'nan' | float }})jinja",
     R"jinja(072642421000.01nan)jinja", false},
    {R"jinja({{ 'AbC' | lower | upper }}{{ '  pad  ' | trim }}|{{ 'xxpadxx' | trim('x') }}|{{ 'a  b' | replace(' ', '_') }})jinja",
     R"jinja(ABCpad|pad|a__b)jinja", false},
    {R"jinja({{ {'b': 2, 'A': 1} | dictsort }}{{ {'b': 2, 'A': 1} | dictsort(case_sensitive=true) }}{{ {'a': 2, 'b': 1} | dictsort(by='value') }}{{ {'a': 2, 'b': 1} | dictsort(reverse=true) }})jinja",
     R"jinja([('A', 1), ('b', 2)][('A', 1), ('b', 2)][('b', 1), ('a', 2)][('b', 1), ('a', 2)])jinja", false},
    {R"jinja({{ ['A', 'a', 'b'] | unique | list }}{{ ['A', 'a', 'b'] | unique(case_sensitive=true) | list }})jinja",
     R"jinja(['A', 'b']['A', 'a', 'b'])jinja", false},
    {R"jinja({{ 'a\nb' | indent(first=true) }}|{{ 'x\ny' | indent('> ') }})jinja",
     R"jinja(    a
    b|x
> y)jinja", false},
    {R"jinja({{ [1, 2, 3, 4, 5] | batch(2, 0) | list }}{{ '<&>' | escape }}{{ 'x' | safe }}{{ 'one, two' | wordcount }})jinja",
     R"jinja([[1, 2], [3, 4], [5, 0]]&lt;&amp;&gt;x2)jinja", false},
    {R"jinja({{ range(3) | select('even') | list }}{{ range(3) | reject('even') | list }}{{ [0, 1, '', 'a'] | select | list }}{{ [1, 2, 3] | select('gt', 1) | list }})jinja",
     R"jinja([0, 2][1][1, 'a'][2, 3])jinja", false},
    {R"jinja({{ [{'a': none}, {'a': 1}] | selectattr('a', 'none') | list }}{{ [{'a': none}, {'a': 1}] | rejectattr('a', 'none') | list }})jinja",
     R"jinja([{'a': None}][{'a': 1}])jinja", false},
    {R"jinja({{ 1 is divisibleby(1) }}{{ 'x' is in 'xy' }}{{ 3 is lt(5) }}{{ 'abc' is lower }}{{ 'ABC1' is upper }}{{ '' is lower }})jinja",
     R"jinja(TrueTrueTrueTrueTrueFalse)jinja", false},
    {R"jinja({{ (1, 2) is sequence }}{{ {'a': 1} is iterable }}{{ 1.5 is float }}{{ 1 is float }}{{ none is boolean }}{{ false is false }}{{ 0 is false }})jinja",
     R"jinja(TrueTrueTrueFalseFalseTrueFalse)jinja", false},
    {R"jinja({{ range is callable }}{{ 'x'.upper is callable }}{{ 'x' is callable }}{{ 'upper' is filter }}{{ 'odd' is test }}{{ 'nope' is filter }})jinja",
     R"jinja(TrueTrueFalseTrueTrueFalse)jinja", false},
    {R"jinja({{ 'x' if none else 'y' }}{{ 'a' if '' or [] else 'b' }}{{ 1 if 0 else 2 if 0 else 3 }})jinja",
     R"jinja(yb3)jinja", false},
    {R"jinja({% set d = dict(a=1) %}{{ d.a }}{{ d['a'] }}{{ d.b is defined }}{{ d.get('b', 'z') }})jinja",
     R"jinja(11Falsez)jinja", false},
    {R"jinja({% macro m() %}{{ varargs | length }}:{{ kwargs | dictsort }}{% endmacro %}{{ m(1, 2, x=3) }})jinja",
     R"jinja(2:[('x', 3)])jinja", false},
    {R"jinja({% macro m(a, b) %}{{ a }}{{ b is defined }}{% endmacro %}{{ m(b=2, a=1) }}{{ m(1) }})jinja",
     R"jinja(1True1False)jinja", false},
    {R"jinja({%- set x = namespace(n=0) -%}{%- macro inc() -%}{%- set x.n = x.n + 1 -%}{%- endmacro -%}{{ inc() }}{{ inc() }}{{ x.n }})jinja",
     R"jinja(2)jinja", false},
    {R"jinja({% set t = (1, 'a') %}{% set n, s = t %}{{ n }}{{ s }}{{ t[1] }}{{ t | length }})jinja",
     R"jinja(1aa2)jinja", false},
    {R"jinja({% for a, b in [[1, 2]] %}{{ a + b }}{% endfor %}{% for (a, b) in [[3, 4]] %}{{ a * b }}{% endfor %})jinja",
     R"jinja(312)jinja", false},
    {R"jinja({% filter trim %}   spaced   {% endfilter %}|{% filter replace('a', 'b') | upper %}aaa{% endfilter %})jinja",
     R"jinja(spaced|BBB)jinja", false},
    {R"jinja({% set x | upper %}shout{% endset %}{{ x }})jinja",
     R"jinja(SHOUT)jinja", false},
    {R"jinja({{ '%' }}{{ 'x' ~ none ~ 1.0 ~ true }}{{ undefined_var ~ 'y' }})jinja",
     R"jinja(%xNone1.0Truey)jinja", false},
    {R"jinja({{ [1,2,3][1:] }}{{ [1,2,3][:-1] }}{{ [1,2,3][::-1] }}{{ 'hello'[1:-1:2] }}{{ [1,2,3][5:] }}{{ 'abc'[-10:10] }})jinja",
     R"jinja([2, 3][1, 2][3, 2, 1]el[]abc)jinja", false},
    {R"jinja({{ 'é'|length }}{{ '日本語'[1] }}{{ '日本語'[::-1] }}{{ '日本語'|reverse }}{{ 'aé'|upper }})jinja",
     R"jinja(1本語本日語本日AÉ)jinja", false},
    {R"jinja({{ 9007199254740993 }}{{ -9223372036854775807 - 1 }}{{ 2 ** 62 }}{{ 12345678901234567890.0 }}{{ 0.000123 }}{{ 1.0e-7 }}{{ -0.0 }})jinja",
     R"jinja(9007199254740993-922337203685477580846116860184273879041.2345678901234567e+190.0001231e-07-0.0)jinja", false},
    {R"jinja({{ {'x': 1.0, 'y': 1e100, 'z': -2.5e-8} | tojson }}{{ 'tab\tnl\nctl\u0001' | tojson }}{{ '日本' | tojson(ensure_ascii=true) }}{{ '😀' | tojson(ensure_ascii=true) }})jinja",
     R"jinja({"x": 1.0, "y": 1e+100, "z": -2.5e-08}"tab\tnl\nctl\u0001""\u65e5\u672c""\ud83d\ude00")jinja", false},
    {R"jinja({{ {'k': [1, {'n': none}], 'e': [], 'd': {}} | tojson(indent=2, separators=(',', ': ')) }})jinja",
     R"jinja({
  "k": [
    1,
    {
      "n": null
    }
  ],
  "e": [],
  "d": {}
})jinja", false},
    {R"jinja({{ messages | length }}{% for m in messages %}{{ m.role[0] }}{% endfor %}{{ messages[-1].content | tojson }})jinja",
     R"jinja(2ua"yo \"x\"")jinja", true},
};
// clang-format on

Result<std::string> Render(std::string_view source, const nlohmann::ordered_json& context) {
  auto t = Template::Parse(source);
  if (!t.ok()) return t.status();
  return t->Render(context);
}

class RenderTest : public ::testing::TestWithParam<RenderCase> {};

TEST_P(RenderTest, MatchesPythonJinja) {
  const RenderCase& c = GetParam();
  nlohmann::ordered_json context = nlohmann::ordered_json::object();
  if (c.with_messages) {
    context["messages"] = nlohmann::ordered_json::parse(
        R"([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo \"x\""}])");
  }
  auto out = Render(c.source, context);
  ASSERT_TRUE(out.ok()) << c.source << "\n" << out.status().ToString();
  EXPECT_EQ(*out, c.expected) << c.source;
}

INSTANTIATE_TEST_SUITE_P(Constructs, RenderTest, ::testing::ValuesIn(kCases));

TEST(RenderTest, GenerationTagRendersItsBody) {
  auto out = Render(
      "{% generation %}gen{% endgeneration %}|{%- generation -%}  g2  "
      "{%- endgeneration -%}|",
      nlohmann::ordered_json::object());
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, "gen|g2|");
}

TEST(RenderTest, CarriageReturnsAreNewlines) {
  auto out =
      Render("{% if true %}\r\n  a\r\n{% endif %}\r\nb\r\n", nlohmann::ordered_json::object());
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, "  a\nb");
}

TEST(RenderTest, ContextKeepsClientKeyOrderWithOrderedJson) {
  auto context =
      nlohmann::ordered_json::parse(R"({"tool": {"type": "function", "function": {"name": "f"}}})");
  auto out = Render("{{ tool | tojson }}", context);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, R"({"type": "function", "function": {"name": "f"}})");
}

TEST(RenderTest, PlainJsonContextWorksToo) {
  auto t = Template::Parse("{{ a }}-{{ b | length }}");
  ASSERT_TRUE(t.ok());
  auto out = t->Render(nlohmann::json{{"a", 1}, {"b", {1, 2}}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, "1-2");
}

TEST(RenderTest, StrftimeNowFormatsTheGivenTime) {
  auto t = Template::Parse("{{ strftime_now('%Y') }}");
  ASSERT_TRUE(t.ok());
  auto context = FromJson(nlohmann::ordered_json::object());
  ASSERT_TRUE(context.ok());
  // Late December 1999 in every time zone.
  auto when = std::chrono::system_clock::from_time_t(std::time_t{86400} * 365 * 30);
  auto out = t->Render(*context, RenderLimits{}, when);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, "1999");
}

TEST(RenderTest, TemplateIsSharedAcrossCopies) {
  auto t = Template::Parse("{{ x }}");
  ASSERT_TRUE(t.ok());
  Template copy = *t;
  auto out = copy.Render(nlohmann::ordered_json{{"x", "same"}});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, "same");
  EXPECT_EQ(&copy.source(), &t->source());
}

}  // namespace
}  // namespace ts::jinja
