//! The simulated org over real HTTP: wire shapes (compared with recorded Salesforce
//! responses), error bodies, business rules, SOAP, OAuth and faults.

mod common;
mod composite;
mod faults;
mod rest;
mod rules;
mod soap_oauth;
mod tls;
