/* The unit picker (inspections.forms.UnitPicker, templates/inspections/_unit_picker.html).

   Turns the server-rendered field (the offered and chosen units, a plain field for unit numbers)
   into a search box: what is typed is searched in the township(s) given by data-township through
   data-search-url (inspections/unit_search.py), one page at a time; a result picked becomes a chip
   (a hidden input with the field's name) that can be removed again. With data-multiple="false" one
   unit is chosen: a chip, or one of the offered units' radio buttons.

   Configuration and every text shown come from the element's data-* attributes (the texts are
   translated by the server). No inline script or style: classes and the hidden attribute only. */
(function () {
  "use strict";

  var DEBOUNCE_MS = 250;
  var counter = 0;

  function make(tag, className, content) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (content) {
      node.textContent = content;
    }
    return node;
  }

  function metaOf(unit) {
    return [unit.village, unit.address, unit.status_label].filter(Boolean).join(" · ");
  }

  function Picker(root) {
    counter += 1;
    this.root = root;
    this.name = root.getAttribute("data-name");
    this.multiple = root.getAttribute("data-multiple") !== "false";
    this.url = root.getAttribute("data-search-url");
    this.townships = (root.getAttribute("data-township") || "").split(",").filter(Boolean);
    this.key = "unit-picker-" + counter;
    this.units = {};
    this.next = null;
    this.sequence = 0;
    this.controller = null;
    this.timer = null;
    this.active = -1;
    this.loaded = false;
    this.build();
    this.listen();
  }

  Picker.prototype.text = function (key) {
    return this.root.getAttribute("data-text-" + key) || "";
  };

  Picker.prototype.build = function () {
    var root = this.root;
    var fallback = root.querySelector(".unit-picker-fallback");
    var plain = fallback && fallback.querySelector("input");
    var heading = fallback && fallback.querySelector(".unit-picker-heading");

    this.options = root.querySelector(".unit-picker-options");
    this.chips = make("ul", "unit-picker-chips");
    this.chips.setAttribute("aria-label", this.text("chosen"));

    var search = make("div", "unit-picker-search");
    this.input = make("input", "unit-picker-input");
    this.input.type = "search";
    this.input.id = (plain && plain.id ? plain.id : this.key) + "_search";
    this.input.autocomplete = "off";
    this.input.placeholder = this.text("placeholder");
    this.input.setAttribute("role", "combobox");
    this.input.setAttribute("aria-autocomplete", "list");
    this.input.setAttribute("aria-expanded", "false");
    this.input.setAttribute("aria-controls", this.key + "-results");
    this.input.setAttribute("enterkeyhint", "search");
    if (plain && plain.getAttribute("aria-describedby")) {
      this.input.setAttribute("aria-describedby", plain.getAttribute("aria-describedby"));
    }
    this.status = make("p", "unit-picker-status");
    this.status.setAttribute("role", "status");
    this.status.setAttribute("aria-live", "polite");
    this.list = make("ul", "unit-picker-results");
    this.list.id = this.key + "-results";
    this.list.setAttribute("role", "listbox");
    this.list.setAttribute("aria-label", this.text("results"));
    this.list.hidden = true;
    this.more = make("button", "btn btn-secondary unit-picker-more", this.text("more"));
    this.more.type = "button";
    this.more.hidden = true;
    search.appendChild(this.input);
    search.appendChild(this.status);
    search.appendChild(this.list);
    search.appendChild(this.more);

    // The label now names the search box; the plain field is kept out of the submission.
    if (plain) {
      document.querySelectorAll("label[for='" + plain.id + "']").forEach(function (label) {
        label.htmlFor = this.input.id;
      }, this);
      plain.disabled = true;
    }
    if (heading) {
      root.insertBefore(heading, fallback);
    }
    root.insertBefore(this.chips, fallback);
    root.insertBefore(search, fallback);

    // Units chosen earlier (a form shown again) become chips; the offered ones stay as they are.
    root.querySelectorAll(".unit-option-chosen").forEach(function (option) {
      var box = option.querySelector("input");
      if (box && box.checked) {
        this.addChip({
          id: box.value,
          name: option.querySelector(".unit-name").textContent,
          meta: option.querySelector(".unit-meta").textContent,
        });
      }
      option.parentNode.removeChild(option);
    }, this);
    if (this.options && !this.options.children.length) {
      this.options.parentNode.removeChild(this.options);
      this.options = null;
    }
    root.classList.add("unit-picker-ready");
  };

  Picker.prototype.listen = function () {
    var picker = this;
    this.input.addEventListener("input", function () {
      window.clearTimeout(picker.timer);
      picker.timer = window.setTimeout(function () {
        picker.search(false);
      }, DEBOUNCE_MS);
    });
    this.input.addEventListener("focus", function () {
      if (!picker.loaded) {
        picker.search(false);
      } else if (picker.list.children.length) {
        picker.open();
      }
    });
    this.input.addEventListener("keydown", function (event) {
      picker.onKey(event);
    });
    this.list.addEventListener("mousedown", function (event) {
      event.preventDefault(); // keep the focus in the search box
    });
    this.list.addEventListener("click", function (event) {
      var item = event.target.closest("[data-id]");
      if (item) {
        picker.pick(picker.units[item.getAttribute("data-id")]);
      }
    });
    this.more.addEventListener("click", function () {
      picker.search(true);
    });
    this.chips.addEventListener("mousedown", function (event) {
      // A tap on a chip's button leaves the focus in the search box, so nothing moves under the finger.
      if (event.target.closest(".unit-chip-remove")) {
        event.preventDefault();
      }
    });
    this.chips.addEventListener("click", function (event) {
      var button = event.target.closest(".unit-chip-remove");
      if (button) {
        picker.removeChip(button.closest(".unit-chip"));
        picker.input.focus();
      }
    });
    if (this.options && !this.multiple) {
      // An offered unit's radio button chosen: it replaces a unit picked by search.
      this.options.addEventListener("change", function () {
        picker.clearChips();
        picker.markChosen();
      });
    }
    document.addEventListener("click", function (event) {
      if (!picker.root.contains(event.target)) {
        picker.close();
      }
    });
  };

  Picker.prototype.onKey = function (event) {
    var items = this.list.children;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (!items.length) {
        return;
      }
      event.preventDefault();
      this.open();
      var step = event.key === "ArrowDown" ? 1 : -1;
      this.activate((this.active + step + items.length) % items.length);
    } else if (event.key === "Enter") {
      // Never submit the form from the search box.
      event.preventDefault();
      if (this.active >= 0 && items[this.active] && !this.list.hidden) {
        this.pick(this.units[items[this.active].getAttribute("data-id")]);
      } else {
        window.clearTimeout(this.timer);
        this.search(false);
      }
    } else if (event.key === "Escape") {
      if (!this.list.hidden) {
        event.preventDefault();
        this.close();
      }
    }
  };

  Picker.prototype.activate = function (index) {
    var items = this.list.children;
    for (var i = 0; i < items.length; i += 1) {
      items[i].classList.toggle("is-active", i === index);
    }
    this.active = index;
    if (index >= 0 && items[index]) {
      this.input.setAttribute("aria-activedescendant", items[index].id);
      items[index].scrollIntoView({ block: "nearest" });
    } else {
      this.input.removeAttribute("aria-activedescendant");
    }
  };

  Picker.prototype.open = function () {
    this.list.hidden = !this.list.children.length;
    this.more.hidden = this.list.hidden || !this.next;
    this.input.setAttribute("aria-expanded", this.list.hidden ? "false" : "true");
  };

  Picker.prototype.close = function () {
    this.status.textContent = "";
    this.list.hidden = true;
    this.more.hidden = true;
    this.input.setAttribute("aria-expanded", "false");
    this.activate(-1);
  };

  Picker.prototype.search = function (append) {
    var picker = this;
    var params = new URLSearchParams();
    this.townships.forEach(function (township) {
      params.append("township", township);
    });
    params.set("q", this.input.value.trim());
    if (append && this.next) {
      params.set("after", this.next);
    }
    if (this.controller) {
      this.controller.abort();
    }
    var controller = "AbortController" in window ? new AbortController() : null;
    this.controller = controller;
    this.sequence += 1;
    var sequence = this.sequence;
    this.status.textContent = this.text("searching");
    fetch(this.url + "?" + params.toString(), {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
      signal: controller ? controller.signal : undefined,
    })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (data) {
        if (sequence !== picker.sequence) {
          return;
        }
        picker.loaded = true;
        picker.show(data.results || [], append);
        picker.next = data.next || null;
        picker.open();
        picker.status.textContent = picker.list.children.length ? picker.text("count") : picker.text("empty");
      })
      .catch(function (error) {
        if (error && error.name === "AbortError") {
          return;
        }
        if (sequence === picker.sequence) {
          picker.status.textContent = picker.text("error");
        }
      });
  };

  Picker.prototype.show = function (units, append) {
    if (!append) {
      this.list.textContent = "";
      this.activate(-1);
    }
    units.forEach(function (unit) {
      var key = String(unit.id);
      this.units[key] = { id: key, name: unit.name, meta: metaOf(unit) };
      var item = make("li", "unit-result");
      item.id = this.key + "-unit-" + key;
      item.setAttribute("role", "option");
      item.setAttribute("data-id", key);
      item.appendChild(make("span", "unit-name", unit.name));
      item.appendChild(make("span", "unit-meta", this.units[key].meta));
      item.appendChild(make("span", "unit-result-picked badge badge-green", this.text("picked")));
      this.list.appendChild(item);
    }, this);
    this.markChosen();
  };

  Picker.prototype.chosenIds = function () {
    var ids = {};
    this.root.querySelectorAll("input[name='" + this.name + "']").forEach(function (input) {
      if (!input.disabled && (input.type === "hidden" || input.checked)) {
        ids[input.value] = true;
      }
    });
    return ids;
  };

  Picker.prototype.markChosen = function () {
    var ids = this.chosenIds();
    Array.prototype.forEach.call(this.list.children, function (item) {
      var chosen = Boolean(ids[item.getAttribute("data-id")]);
      item.setAttribute("aria-selected", chosen ? "true" : "false");
      item.classList.toggle("is-chosen", chosen);
    });
  };

  Picker.prototype.pick = function (unit) {
    if (!unit) {
      return;
    }
    var offered = this.options && this.options.querySelector("input[value='" + unit.id + "']");
    if (this.chosenIds()[unit.id]) {
      // Picked again in a list of several: taken back out.
      if (this.multiple) {
        if (offered) {
          offered.checked = false;
        }
        this.removeChip(this.chips.querySelector(".unit-chip[data-id='" + unit.id + "']"));
      }
    } else {
      if (!this.multiple) {
        this.clearChips();
        if (this.options) {
          this.options.querySelectorAll("input").forEach(function (input) {
            input.checked = false;
          });
        }
      }
      if (offered) {
        offered.checked = true;
      } else {
        this.addChip(unit);
      }
    }
    this.markChosen();
    if (!this.multiple) {
      this.input.value = "";
      this.close();
    }
  };

  Picker.prototype.addChip = function (unit) {
    var chip = make("li", "unit-chip");
    chip.setAttribute("data-id", unit.id);
    var input = make("input");
    input.type = "hidden";
    input.name = this.name;
    input.value = unit.id;
    var label = make("span", "unit-chip-text");
    label.appendChild(make("span", "unit-name", unit.name));
    label.appendChild(make("span", "unit-meta", unit.meta));
    var remove = make("button", "unit-chip-remove", "×");
    remove.type = "button";
    remove.setAttribute("aria-label", this.text("remove") + " " + unit.name);
    chip.appendChild(input);
    chip.appendChild(label);
    chip.appendChild(remove);
    this.chips.appendChild(chip);
  };

  Picker.prototype.removeChip = function (chip) {
    if (chip) {
      chip.parentNode.removeChild(chip);
      this.markChosen();
    }
  };

  Picker.prototype.clearChips = function () {
    this.chips.textContent = "";
  };

  document.querySelectorAll("[data-unit-picker]").forEach(function (root) {
    new Picker(root);
  });
})();
