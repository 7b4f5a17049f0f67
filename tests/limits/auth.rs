//! Failed-login throttling per IP and per account (`limit_auth_period`, `limit_auth_max`),
//! on a virtual clock.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lilt::modules::limits::{AuthPolicy, AuthThrottle, LimitCounters, RefusalScope};

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, last))
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Five failures in a row from `from` against `account`.
fn fail_five(throttle: &mut AuthThrottle, from: IpAddr, account: &str, now: Instant) {
    for _ in 0..5 {
        assert!(throttle.check(from, Some(account), now).is_ok());
        throttle.record_failure(from, Some(account), now);
    }
}

#[test]
fn defaults_are_five_failures_per_thirty_seconds() {
    let policy = AuthPolicy::default();
    assert_eq!(policy.max, 5);
    assert_eq!(policy.period, secs(30));
    assert_eq!(AuthPolicy::from_options(None, None), policy);
    let custom = AuthPolicy::from_options(Some(60.0), Some(3));
    assert_eq!((custom.period, custom.max), (secs(60), 3));
    // An account from all addresses together gets four times the per-address allowance.
    assert_eq!(custom.account_max, 12);
    assert_eq!(custom.with_account_max(Some(7)).account_max, 7);
    let nonsense = AuthPolicy::from_options(Some(-1.0), Some(0));
    assert_eq!((nonsense.period, nonsense.max), (secs(30), 5));
}

#[test]
fn ip_is_refused_with_policy_violation_after_max_failures() {
    let t0 = Instant::now();
    let mut throttle = AuthThrottle::new(AuthPolicy::default());
    for n in 1..=5 {
        assert!(throttle.check(ip(1), Some("alice@example.com"), t0).is_ok());
        let exhausted = throttle.record_failure(ip(1), Some(&format!("user{n}@example.com")), t0);
        assert_eq!(exhausted.is_some(), n == 5, "failure {n}");
    }
    let refusal = throttle
        .check(ip(1), Some("alice@example.com"), t0)
        .unwrap_err();
    assert_eq!(refusal.scope, RefusalScope::Ip);
    assert_eq!(refusal.condition(), "policy-violation");
    assert_eq!(refusal.ip, ip(1));
    // One failure's worth refills in period / max = 6 s.
    assert_eq!(refusal.retry_after, secs(6));
    assert!(refusal.text().contains("6 seconds"), "{}", refusal.text());
    assert!(refusal.to_string().contains("192.0.2.1"), "{refusal}");
    // Without an account name (before SASL names one) the IP is refused as well.
    assert!(throttle.check(ip(1), None, t0).is_err());
}

#[test]
fn another_ip_is_unaffected() {
    let t0 = Instant::now();
    let mut throttle = AuthThrottle::new(AuthPolicy::default());
    fail_five(&mut throttle, ip(1), "alice@example.com", t0);
    assert!(throttle.check(ip(1), Some("bob@example.com"), t0).is_err());
    assert!(throttle.check(ip(2), Some("bob@example.com"), t0).is_ok());
}

#[test]
fn one_address_guessing_is_refused_before_the_account_owner_is_locked_out() {
    let t0 = Instant::now();
    let mut throttle = AuthThrottle::new(AuthPolicy::default());
    fail_five(&mut throttle, ip(1), "alice@example.com", t0);
    assert_eq!(
        throttle
            .check(ip(1), Some("alice@example.com"), t0)
            .unwrap_err()
            .scope,
        RefusalScope::Ip
    );
    assert!(throttle.check(ip(2), Some("alice@example.com"), t0).is_ok());
}

#[test]
fn account_is_refused_after_failures_spread_over_many_ips() {
    let t0 = Instant::now();
    let mut throttle = AuthThrottle::new(AuthPolicy {
        account_max: 5,
        ..AuthPolicy::default()
    });
    for n in 1..=5 {
        throttle.record_failure(ip(n), Some("alice@example.com"), t0);
    }
    let refusal = throttle
        .check(ip(99), Some("Alice@Example.com"), t0)
        .unwrap_err();
    assert_eq!(refusal.scope, RefusalScope::Account);
    // The same fresh IP may still try other accounts.
    assert!(throttle.check(ip(99), Some("bob@example.com"), t0).is_ok());
}

#[test]
fn allowance_refills_over_the_period_and_expires_fully() {
    let t0 = Instant::now();
    let mut throttle = AuthThrottle::new(AuthPolicy::default());
    fail_five(&mut throttle, ip(1), "alice@example.com", t0);
    assert!(throttle.check(ip(1), None, t0 + secs(5)).is_err());
    assert!(throttle.check(ip(1), None, t0 + secs(6)).is_ok());
    // One attempt earned, one spent: refused again right away.
    throttle.record_failure(ip(1), None, t0 + secs(6));
    assert!(throttle.check(ip(1), None, t0 + secs(6)).is_err());
    // A full period later all five are back.
    let later = t0 + secs(36);
    fail_five(&mut throttle, ip(1), "carol@example.com", later);
    assert!(throttle.check(ip(1), None, later).is_err());
}

#[test]
fn success_clears_the_account_but_not_the_ip() {
    let t0 = Instant::now();
    let mut throttle = AuthThrottle::new(AuthPolicy {
        account_max: 5,
        ..AuthPolicy::default()
    });
    for n in 1..=5 {
        throttle.record_failure(ip(n), Some("alice@example.com"), t0);
    }
    assert!(throttle
        .check(ip(50), Some("alice@example.com"), t0)
        .is_err());
    throttle.record_success(ip(50), "alice@example.com", t0);
    assert!(throttle
        .check(ip(50), Some("alice@example.com"), t0)
        .is_ok());

    fail_five(&mut throttle, ip(7), "mallory@example.com", t0);
    throttle.record_success(ip(7), "mallory@example.com", t0);
    assert_eq!(
        throttle
            .check(ip(7), Some("dave@example.com"), t0)
            .unwrap_err()
            .scope,
        RefusalScope::Ip
    );
}

#[test]
fn ipv6_addresses_in_one_slash_64_share_an_allowance() {
    let t0 = Instant::now();
    let mut throttle = AuthThrottle::new(AuthPolicy::default());
    for n in 1..=5u16 {
        let addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 1, n, n, n, n);
        throttle.record_failure(IpAddr::V6(addr), None, t0);
    }
    let same_net = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 9, 9, 9, 9));
    let other_net = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 2, 1, 1, 1, 1));
    assert!(throttle.check(same_net, None, t0).is_err());
    assert!(throttle.check(other_net, None, t0).is_ok());
    // An IPv4-mapped address is its IPv4 address.
    fail_five(&mut throttle, ip(3), "x@example.com", t0);
    let mapped = IpAddr::V6(Ipv4Addr::new(192, 0, 2, 3).to_ipv6_mapped());
    assert!(throttle.check(mapped, None, t0).is_err());
}

#[test]
fn tables_stay_bounded_and_a_spray_cannot_evict_a_hot_ip() {
    let t0 = Instant::now();
    let policy = AuthPolicy {
        max_entries: 100,
        account_max: 5,
        ..AuthPolicy::default()
    };
    let mut throttle = AuthThrottle::new(policy);
    let hot = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1));
    for _ in 0..5 {
        throttle.record_failure(hot, Some("alice@example.com"), t0);
    }
    for n in 0..1000u32 {
        let addr = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + n));
        throttle.record_failure(
            addr,
            Some(&format!("user{n}@example.com")),
            t0 + Duration::from_millis(n.into()),
        );
    }
    let (ips, accounts) = throttle.table_sizes();
    assert!(ips <= 100 && accounts <= 100, "{ips} {accounts}");
    let now = t0 + secs(1);
    assert_eq!(
        throttle.check(hot, None, now).unwrap_err().scope,
        RefusalScope::Ip
    );
    assert_eq!(
        throttle
            .check(ip(1), Some("alice@example.com"), now)
            .unwrap_err()
            .scope,
        RefusalScope::Account
    );
}

#[test]
fn expired_entries_are_pruned_when_the_table_fills() {
    let t0 = Instant::now();
    let policy = AuthPolicy {
        max_entries: 10,
        ..AuthPolicy::default()
    };
    let mut throttle = AuthThrottle::new(policy);
    for n in 0..10 {
        throttle.record_failure(ip(n), None, t0);
    }
    assert_eq!(throttle.table_sizes().0, 10);
    // Long after, one new failure makes room by dropping the ten recovered entries.
    throttle.record_failure(ip(200), None, t0 + secs(60));
    assert_eq!(throttle.table_sizes().0, 1);
}

#[test]
fn failures_and_refusals_are_counted() {
    let t0 = Instant::now();
    let counters = Arc::new(LimitCounters::new());
    let mut throttle =
        AuthThrottle::new(AuthPolicy::default()).with_counters(Arc::clone(&counters));
    fail_five(&mut throttle, ip(1), "alice@example.com", t0);
    assert!(throttle.check(ip(1), None, t0).is_err());
    assert!(throttle.check(ip(1), None, t0).is_err());
    let snap = counters.snapshot();
    assert_eq!((snap.auth_failures, snap.auth_refusals), (5, 2));
}
