"""The board's numbers: chapters, meetings and mailings, as a table, JSON or a page with charts.

Each report is a list of columns, each column a small function of one row, so a number that
a new kind of record brings (who came, consultation answers, bounces) is one more function;
until its table exists in the state database the column shows "not recorded".
"""
