//! The simulated org over real HTTP: wire shapes (compared with recorded Salesforce
//! responses), error bodies, business rules, SOAP, OAuth and faults.

mod common;
mod composite;
mod discovery;
mod faults;
mod jwt;
mod profile_meta;
mod query_forms;
mod real_org;
mod rest;
mod rules;
mod seed_files;
mod signin;
mod soap_oauth;
mod tls;
