/* Chinese date and number formats for plotly.js, whose bundle ships English only.
   Only formats are needed: the figures' words are written on the server in the page's language. */
(function () {
  "use strict";
  if (!window.Plotly) {
    return;
  }
  window.Plotly.register({
    moduleType: "locale",
    name: "zh-CN",
    dictionary: {},
    format: {
      days: ["星期日", "星期一", "星期二", "星期三", "星期四", "星期五", "星期六"],
      shortDays: ["周日", "周一", "周二", "周三", "周四", "周五", "周六"],
      months: ["一月", "二月", "三月", "四月", "五月", "六月", "七月", "八月", "九月", "十月", "十一月", "十二月"],
      shortMonths: ["1月", "2月", "3月", "4月", "5月", "6月", "7月", "8月", "9月", "10月", "11月", "12月"],
      periods: ["上午", "下午"],
      dateTime: "%Y年%-m月%-d日 %X",
      date: "%Y-%m-%d",
      time: "%H:%M:%S",
      decimal: ".",
      thousands: ",",
      grouping: [3],
      currency: ["¥", ""],
      year: "%Y年",
      month: "%Y年%-m月",
      dayMonth: "%-m月%-d日",
      dayMonthYear: "%Y年%-m月%-d日",
    },
  });
})();
