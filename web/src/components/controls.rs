//! Seed and index controls, "next sample", and the parameter form whose values override
//! the random draw.

use leptos::prelude::*;

use crate::params::{Control, Widget, overridden, spell_value, toggle_item, with_override};
use crate::state::AppState;

fn set_param(state: AppState, name: &str, value: Option<String>) {
    state.session.update(|s| s.params = with_override(&s.params, name, value.as_deref()));
}

/// Sample selection and parameters.
#[component]
pub fn Controls() -> impl IntoView {
    let state = expect_context::<AppState>();
    let number = move |label: &'static str,
                       testid: &'static str,
                       get: fn(&crate::session::Session) -> String,
                       set: fn(&mut crate::session::Session, String)| {
        view! {
            <label class="num">
                <span>{label}</span>
                <input
                    type="text"
                    inputmode="numeric"
                    data-testid=testid
                    aria-label=label
                    prop:value=move || state.session.with(get)
                    on:change=move |ev| {
                        let v = event_target_value(&ev).trim().to_owned();
                        if v.parse::<u64>().is_ok() {
                            state.session.update(|s| set(s, v));
                        } else {
                            state.notice.set(Some((true, format!("{label} must be a whole number from 0 to {}", u64::MAX))));
                        }
                    }
                />
            </label>
        }
    };
    // The category a sample is rendered under (a library file's folder; for a new pattern,
    // the folder it is meant for).
    // Until the library is listed, the session's own category is the only option.
    let category = move || {
        let current = state.session.with(|s| s.category.clone());
        let mut categories = state.library.with(|items| crate::library::facet(items, |i| vec![i.category.clone()]));
        if !categories.contains(&current) {
            categories.push(current.clone());
            categories.sort();
        }
        view! {
            <label class="num">
                <span>"Category"</span>
                <select
                    data-testid="category"
                    aria-label="Category"
                    on:change=move |ev| state.session.update(|s| s.category = event_target_value(&ev))
                >
                    {categories
                        .iter()
                        .map(|c| {
                            let selected = *c == current;
                            view! { <option value=c.clone() selected=selected>{c.clone()}</option> }
                        })
                        .collect_view()}
                </select>
            </label>
        }
    };
    let next = move |_| state.session.update(|s| s.index = s.index().wrapping_add(1).to_string());
    // Each control with the value it shows and whether it is overridden: a memo, so the form
    // is rebuilt only when one of those changes (not on every edit of the text).
    let fields = Memo::new(move |_| {
        let params = state.session.with(|s| s.params.clone());
        state.eval.with(|ev| {
            let drawn = ev.sample.as_ref().map(|s| &s.parameters);
            ev.panes
                .controls
                .iter()
                .map(|c| {
                    let current = overridden(&params, &c.name).map(str::to_owned);
                    let shown = current.clone().or_else(|| drawn.and_then(|d| d.get(&c.name)).map(spell_value)).unwrap_or_default();
                    (c.clone(), shown, current.is_some())
                })
                .collect::<Vec<_>>()
        })
    });
    let form = move || fields.get().into_iter().map(|(c, shown, overridden)| control(state, &c, shown, overridden)).collect_view();
    view! {
        <section class="panel controls" aria-label="Sample controls">
            <div class="row">
                {number("Seed", "seed", |s| s.seed.clone(), |s, v| s.seed = v)}
                {number("Index", "index", |s| s.index.clone(), |s, v| s.index = v)}
                {category}
                <button on:click=next data-testid="next-sample" title="Render the next index">"Next sample"</button>
                <button
                    on:click=move |_| state.session.update(|s| s.params.clear())
                    disabled=move || state.session.with(|s| s.params.is_empty())
                    title="Draw every parameter at random again"
                >
                    "Reset parameters"
                </button>
            </div>
            <fieldset class="params" data-testid="params">
                <legend>"Parameters (override the random draw)"</legend>
                {form}
            </fieldset>
        </section>
    }
}

fn control(state: AppState, c: &Control, shown: String, is_set: bool) -> AnyView {
    let name = c.name.clone();
    let label = view! {
        <span class="param-name" class:overridden=is_set title=c.description.clone()>
            {c.name.clone()}
        </span>
    };
    match &c.widget {
        Widget::Select(options) => {
            let options = options.clone();
            view! {
                <label class="param">
                    {label}
                    <select
                        data-param=name.clone()
                        aria-label=name.clone()
                        on:change=move |ev| set_param(state, &name, Some(event_target_value(&ev)))
                    >
                        {options
                            .into_iter()
                            .map(|o| {
                                let selected = o == shown;
                                let label = if o.is_empty() { "(empty string)".to_owned() } else { o.clone() };
                                view! { <option value=o.clone() selected=selected>{label}</option> }
                            })
                            .collect_view()}
                    </select>
                </label>
            }
            .into_any()
        }
        Widget::Toggle => view! {
            <label class="param">
                {label}
                <input
                    type="checkbox"
                    data-param=name.clone()
                    aria-label=name.clone()
                    prop:checked=shown == "true"
                    on:change=move |ev| set_param(state, &name, Some(event_target_checked(&ev).to_string()))
                />
            </label>
        }
        .into_any(),
        Widget::Number { min, max, step } => {
            let (min, max, step) = (min.to_string(), max.to_string(), step.to_string());
            let n2 = name.clone();
            view! {
                <label class="param">
                    {label}
                    <input
                        type="range"
                        min=min.clone()
                        max=max.clone()
                        step=step.clone()
                        aria-label=format!("{name} slider")
                        prop:value=shown.clone()
                        on:change=move |ev| set_param(state, &n2, Some(event_target_value(&ev)))
                    />
                    <input
                        type="number"
                        class="small"
                        min=min
                        max=max
                        step=step
                        data-param=name.clone()
                        aria-label=name.clone()
                        prop:value=shown
                        on:change=move |ev| set_param(state, &name, Some(event_target_value(&ev)))
                    />
                </label>
            }
            .into_any()
        }
        Widget::Text => view! {
            <label class="param">
                {label}
                <input
                    type="text"
                    data-param=name.clone()
                    aria-label=name.clone()
                    prop:value=shown
                    on:change=move |ev| set_param(state, &name, Some(event_target_value(&ev)))
                />
            </label>
        }
        .into_any(),
        Widget::Multi(options) => {
            let pool = options.clone();
            view! {
                <fieldset class="param multi" data-param=name.clone()>
                    <legend>{label}</legend>
                    {options
                        .iter()
                        .map(|o| {
                            let on = shown.split(',').any(|x| x.trim() == o);
                            let text = o.clone();
                            let (o, pool, name, shown) = (o.clone(), pool.clone(), name.clone(), shown.clone());
                            view! {
                                <label class="chip">
                                    <input
                                        type="checkbox"
                                        prop:checked=on
                                        on:change=move |ev| {
                                            let v = toggle_item(&pool, &shown, &o, event_target_checked(&ev));
                                            set_param(state, &name, Some(v));
                                        }
                                    />
                                    {text}
                                </label>
                            }
                        })
                        .collect_view()}
                </fieldset>
            }
            .into_any()
        }
    }
}
